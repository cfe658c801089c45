import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ALERT_KINDS } from '../../src/alerts/kinds.js';
import { notifyAfterRun, type AlertSettings } from '../../src/alerts/notify.js';
import { deliveryBudgetMs } from '../../src/alerts/webhook.js';
import { loadConfig } from '../../src/config.js';
import { createMarket } from '../../src/demo/market.js';
import { faults, startProviderServer, type ProviderServer } from '../../src/demo/provider-server.js';
import { createLogger } from '../../src/log.js';
import type { RunResult } from '../../src/jobs/pipeline.js';
import { initWarehouse } from '../../src/warehouse/init.js';
import { runCli } from '../helpers/cli.js';
import { type RunJson, type StatusJson } from '../helpers/cli-json.js';
import { createTestDatabase, scratchDir, type TestDatabase } from '../helpers/database.js';
import { count, harness, TEST_API_KEY, type Harness } from '../helpers/pipeline.js';
import { closedPortOrigin, startReceiver, type Receiver } from '../helpers/webhook-receiver.js';
import { matcher } from '../helpers/matcher.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const TOKEN = 'hk7Qz3fakeToken9XwP2mNv';
const PAYLOAD_KEYS = ['kind', 'severity', 'message', 'runId', 'occurredAt', 'source', 'details', 'fxpipe'];
const TIMEOUT_MS = 300;
const silent = createLogger('silent');

function settings(url: string, overrides: Partial<AlertSettings> = {}): AlertSettings {
  return {
    webhookUrl: url,
    alerts: [...ALERT_KINDS],
    watchPairs: ['USD/EUR', 'USD/GBP', 'USD/JPY'],
    alertMovePct: 2,
    webhookTimeoutMs: TIMEOUT_MS,
    sources: ['open-er-api', 'frankfurter'],
    ...overrides,
  };
}

async function openErPayload(h: Harness): Promise<string> {
  return (await fetch(`${h.server.baseUrls['open-er-api']}/v6/latest/USD`)).text();
}

async function storedRate(h: Harness, quote: string): Promise<string> {
  const [row] = await h.db.query<{ rate: string }>(
    `select f.rate::text as rate from fact_rates_current f join dim_currency q on q.currency_id = f.quote_currency_id
       join dim_source s using (source_id) where s.source_name = 'open-er-api' and q.currency_code = $1`,
    [quote],
  );
  return row!.rate;
}

/** The published rate of quote replaced by value. */
function withRate(payload: string, quote: string, value: string): string {
  const edited = payload.replace(new RegExp(`"${quote}":[0-9.eE+-]+`), `"${quote}":${value}`);
  expect(edited).not.toBe(payload);
  return edited;
}

describe('alerts', () => {
  let h: Harness;
  let receiver: Receiver;
  let hook: string;
  beforeEach(async () => {
    receiver = await startReceiver();
    hook = `${receiver.origin}/hooks/${TOKEN}`;
  });
  afterEach(async () => {
    await receiver.close();
    await h?.close();
  });

  const notify = (result: RunResult, overrides: Partial<AlertSettings> = {}) =>
    notifyAfterRun(h.db, settings(hook, overrides), result, silent, { now: h.clock.now() });

  it('failover: one POST of the documented JSON, recorded in alert_log', async () => {
    h = await harness();
    h.server.injectFault('open-er-api', faults.outage(), Infinity);
    const result = await h.run();
    expect(await notify(result)).toEqual([{ kind: 'failover', source: 'frankfurter', delivered: true, attempts: 1 }]);
    expect(receiver.received).toHaveLength(1);
    const [post] = receiver.received;
    expect(post).toMatchObject({ method: 'POST', path: `/hooks/${TOKEN}` });
    expect(post!.headers['content-type']).toBe('application/json');
    expect(Object.keys(post!.body as object)).toEqual(PAYLOAD_KEYS);
    expect(post!.body).toEqual({
      kind: 'failover',
      severity: 'warning',
      message: matcher.stringMatching(/^fxpipe failed over to frankfurter: the primary open-er-api failed \(open-er-api: HTTP 503/),
      runId: result.runId,
      occurredAt: result.finishedAt,
      source: 'frankfurter',
      details: { primary: 'open-er-api', primaryError: matcher.stringMatching(/HTTP 503/), sourceUsed: 'frankfurter', asOf: result.asOf },
      fxpipe: { version: VERSION },
    });
    const [logged] = await h.db.query<{ kind: string; run_id: string; delivered: boolean; attempts: number; payload: unknown }>(
      'select kind, run_id, delivered, attempts, payload from alert_log',
    );
    expect(logged).toEqual({ kind: 'failover', run_id: result.runId, delivered: true, attempts: 1, payload: post!.body });
  });

  it('run_failed when no source delivered', async () => {
    h = await harness();
    h.server.injectFault('open-er-api', faults.outage(), Infinity);
    h.server.injectFault('frankfurter', faults.outage(), Infinity);
    const result = await h.run();
    expect(result.status).toBe('failed');
    expect((await notify(result)).map((o) => o.kind)).toEqual(['run_failed']);
    expect(receiver.received[0]!.body).toEqual({
      kind: 'run_failed',
      severity: 'critical',
      message: `fxpipe run ${result.runId} failed: ${result.error}`,
      runId: result.runId,
      occurredAt: result.finishedAt,
      source: null,
      details: {
        runKind: 'manual',
        error: result.error,
        sources: [
          { source: 'open-er-api', role: 'primary', attempts: 3, error: matcher.stringMatching(/HTTP 503/) },
          { source: 'frankfurter', role: 'fallback', attempts: 3, error: matcher.stringMatching(/HTTP 503/) },
        ],
      },
      fxpipe: { version: VERSION },
    });
  });

  it('pair_moved when a watched pair moves beyond the threshold against its previous stored rate', async () => {
    h = await harness();
    await h.run({ verify: false });
    h.clock.advanceHours(24);
    const [eur, chf] = [await storedRate(h, 'EUR'), await storedRate(h, 'CHF')];
    let payload = withRate(await openErPayload(h), 'EUR', (Number(eur) * 1.03).toFixed(6));
    payload = withRate(payload, 'CHF', (Number(chf) * 1.05).toFixed(6)); // not watched
    h.server.injectFault('open-er-api', faults.body(payload), 2);
    const result = await h.run({ verify: false });
    expect((await notify(result)).map((o) => o.kind)).toEqual(['pair_moved']);
    const body = receiver.received[0]!.body as {
      severity: string;
      message: string;
      source: string;
      details: { thresholdPct: number; pairs: { pair: string; previous: string; rate: string; changePct: number }[] };
    };
    expect(body).toMatchObject({ severity: 'info', source: 'open-er-api', details: { thresholdPct: 2, asOf: result.asOf } });
    expect(body.details.pairs.map((p) => p.pair)).toEqual(['USD/EUR']);
    expect(body.details.pairs[0]).toMatchObject({ previous: eur, rate: (Number(eur) * 1.03).toFixed(6).replace(/0+$/, '') });
    expect(body.details.pairs[0]!.changePct).toBeCloseTo(3, 2);
    expect(body.message).toMatch(/^fxpipe: USD\/EUR \+3(\.0\d?)?% on open-er-api \(alert beyond 2%\)$/);

    // Pairs the other way round, and a higher threshold.
    expect((await notify(result, { watchPairs: ['EUR/USD'] })).map((o) => o.kind)).toEqual(['pair_moved']);
    const inverse = (receiver.received[1]!.body as typeof body).details.pairs;
    expect(inverse.map((p) => p.pair)).toEqual(['EUR/USD']);
    expect(inverse[0]!.changePct).toBeCloseTo((1 / 1.03 - 1) * 100, 2);
    expect(await notify(result, { alertMovePct: 5 })).toEqual([]);
  });

  it('reference_deviation when the primary deviates from a reference beyond the tolerance', async () => {
    h = await harness();
    const reference = await (await fetch(`${h.server.baseUrls.frankfurter}/v1/latest?base=USD`)).text();
    const eur = /"EUR":([0-9.]+)/.exec(reference)![1]!;
    h.server.injectFault('frankfurter', faults.body(reference.replace(`"EUR":${eur}`, `"EUR":${(Number(eur) * 1.02).toFixed(5)}`)));
    const result = await h.run();
    expect((await notify(result)).map((o) => o.kind)).toEqual(['reference_deviation']);
    const body = receiver.received[0]!.body as {
      severity: string;
      message: string;
      details: { deviations: { pair: string; reference: string; deviationPct: number; rate: string }[] };
    };
    expect(body).toMatchObject({
      severity: 'warning',
      source: 'open-er-api',
      message: matcher.stringMatching(/^fxpipe: open-er-api deviates from a reference source: USD\/EUR -\d\.\d+% vs frankfurter$/),
    });
    expect(body.details.deviations).toEqual([
      {
        pair: 'USD/EUR',
        rate: await storedRate(h, 'EUR'),
        reference: 'frankfurter',
        deviationPct: result.flags.referenceDeviations[0]!.deviationPct,
      },
    ]);
  });

  it('stale: once per source, again only after it was fresh', async () => {
    h = await harness('2024-01-09T12:00:00Z');
    const today = await openErPayload(h);
    const last = Number(/"time_last_update_unix":(\d+)/.exec(today)![1]);
    const threeDaysOld = today.replace(`"time_last_update_unix":${last}`, `"time_last_update_unix":${last - 3 * 86_400}`);
    h.server.injectFault('open-er-api', faults.body(threeDaysOld));
    const stale = await h.run();
    expect(await notify(stale)).toEqual([{ kind: 'stale', source: 'open-er-api', delivered: true, attempts: 1 }]);
    expect(receiver.received[0]!.body).toMatchObject({
      kind: 'stale',
      severity: 'critical',
      runId: stale.runId,
      occurredAt: h.clock.now().toISOString(),
      source: 'open-er-api',
      message: 'fxpipe: open-er-api is stale: its newest rates are as of 2024-01-06T00:02:31.000Z (84 h old)',
      details: { asOf: '2024-01-06T00:02:31.000Z', ageHours: 84, cadence: 'daily', expectedDay: null },
    });

    h.clock.advanceHours(4);
    h.server.injectFault('open-er-api', faults.body(threeDaysOld));
    expect(await notify(await h.run())).toEqual([]); // still stale: already said
    expect(await notify(await h.run())).toEqual([]); // fresh again
    h.clock.advanceHours(72);
    h.server.injectFault('open-er-api', faults.outage(), Infinity);
    const failover = await h.run();
    expect(await notify(failover, { alerts: ['stale'] })).toEqual([{ kind: 'stale', source: 'open-er-api', delivered: true, attempts: 1 }]);
    expect(receiver.received).toHaveLength(2);
  });

  it('switched-off kinds are not sent', async () => {
    h = await harness();
    h.server.injectFault('open-er-api', faults.outage(), Infinity);
    const result = await h.run();
    expect(await notify(result, { alerts: ['run_failed', 'pair_moved'] })).toEqual([]);
    expect(await notify(result, { alerts: [] })).toEqual([]);
    expect(receiver.received).toEqual([]);
    expect(await count(h.db, 'select * from alert_log')).toBe(0);
  });

  it('retries a 500, then succeeds; a 4xx is not retried', async () => {
    h = await harness();
    h.server.injectFault('open-er-api', faults.outage(), Infinity);
    const result = await h.run();
    receiver.failNext(500);
    expect(await notify(result)).toEqual([{ kind: 'failover', source: 'frankfurter', delivered: true, attempts: 2 }]);
    expect(receiver.received.map((r) => r.body)).toEqual([receiver.received[1]!.body, receiver.received[1]!.body]);
    receiver.failNext(410);
    expect(await notify(result)).toEqual([{ kind: 'failover', source: 'frankfurter', delivered: false, attempts: 1, error: 'HTTP 410' }]);
  });

  it('a receiver that is down or hangs costs at most the delivery budget, and the stale alert is tried again next run', async () => {
    h = await harness('2024-01-09T12:00:00Z');
    h.server.injectFault('open-er-api', faults.outage(), Infinity);
    const result = await h.run();
    h.clock.advanceHours(72); // open-er-api never delivered, frankfurter's rates are now stale
    const budget = deliveryBudgetMs(TIMEOUT_MS);
    const timed = async (url: string) => {
      const started = performance.now();
      const outcomes = await notifyAfterRun(h.db, settings(url), result, silent, { now: h.clock.now() });
      return { outcomes, ms: performance.now() - started };
    };

    const down = await timed(`${await closedPortOrigin()}/hooks/${TOKEN}`);
    expect(down.ms).toBeLessThan(budget + 1000);
    expect(down.outcomes).toEqual([
      { kind: 'failover', source: 'frankfurter', delivered: false, attempts: 3, error: matcher.stringMatching(/^ECONNREFUSED/) },
      { kind: 'stale', source: 'frankfurter', delivered: false, attempts: 3, error: matcher.stringMatching(/^ECONNREFUSED/) },
    ]);

    receiver.hang();
    const hung = await timed(hook);
    expect(hung.ms).toBeLessThan(budget + 1000);
    expect(hung.outcomes.map((o) => [o.kind, o.delivered, o.attempts, o.error])).toEqual([
      ['failover', false, 3, `no answer within ${TIMEOUT_MS} ms`],
      ['stale', false, 3, `no answer within ${TIMEOUT_MS} ms`],
    ]);
    const errors = await h.db.query<{ error: string }>('select error from alert_log order by alert_id');
    expect(errors).toHaveLength(4);
    for (const { error } of errors) expect(error).not.toContain(TOKEN);
  });
});

describe('alert settings', () => {
  it('a delivery budget is 3 attempts plus 0.75 s of backoff, never more than 10 s', () => {
    expect(deliveryBudgetMs(3000)).toBe(9750);
    expect(deliveryBudgetMs(10_000)).toBe(10_000);
  });

  const load = (env: Record<string, string>) => loadConfig({ env, cwd: scratchDir() });

  it('defaults to every kind and USD/EUR, USD/GBP, USD/JPY at 2 %; accepts "none"', () => {
    expect(load({})).toMatchObject({
      webhookUrl: undefined,
      alerts: [...ALERT_KINDS],
      watchPairs: ['USD/EUR', 'USD/GBP', 'USD/JPY'],
      alertMovePct: 2,
      webhookTimeoutMs: 3000,
    });
    expect(load({ FXPIPE_ALERTS: 'none' }).alerts).toEqual([]);
    expect(load({ FXPIPE_ALERTS: 'stale, failover' }).alerts).toEqual(['stale', 'failover']);
  });

  it('rejects bad values naming the setting, and never echoes the webhook URL', () => {
    expect(() => load({ FXPIPE_ALERTS: 'stale,bogus' })).toThrow(
      /^invalid setting FXPIPE_ALERTS: "stale,bogus" expected "none" or a comma-separated list of run_failed, failover, stale, pair_moved, reference_deviation, production_deviation$/,
    );
    expect(() => load({ FXPIPE_WATCH_PAIRS: 'USD/EUR,usd/gbp' })).toThrow(/^invalid setting FXPIPE_WATCH_PAIRS: .*BASE\/QUOTE/);
    expect(() => load({ FXPIPE_WATCH_PAIRS: 'EUR/EUR' })).toThrow(/FXPIPE_WATCH_PAIRS/);
    let message = '';
    try {
      load({ FXPIPE_WEBHOOK_URL: `ftp://hook.example/${TOKEN}` });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe('invalid setting FXPIPE_WEBHOOK_URL: expected an http(s) URL');
  });
});

describe('alerts, from the CLI', () => {
  let database: TestDatabase;
  let server: ProviderServer;
  let receiver: Receiver;
  let env: Record<string, string>;
  beforeEach(async () => {
    database = await createTestDatabase();
    await initWarehouse(await database.open());
    server = await startProviderServer({
      market: createMarket({ seed: 3, start: new Date('2026-01-01T00:00:00Z') }),
      clock: () => new Date(),
      apiKey: TEST_API_KEY,
    });
    receiver = await startReceiver();
    env = {
      ...server.env,
      DATABASE_URL: database.url,
      FXPIPE_HTTP_RETRIES: '1',
      FXPIPE_WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS),
      FXPIPE_LOG_LEVEL: 'trace',
    };
  });
  afterEach(async () => {
    await receiver.close();
    await server.close();
    await database.drop();
  });

  it('a dead or hanging receiver changes neither the exit code nor the result; the webhook URL appears nowhere', async () => {
    server.injectFault('open-er-api', faults.outage(), Infinity);
    const outputs: string[] = [];

    const delivered = await runCli(['--verbose', 'run', '--json'], {
      env: { ...env, FXPIPE_WEBHOOK_URL: `${receiver.origin}/hooks/${TOKEN}` },
    });
    expect(delivered.code).toBe(0);
    expect(JSON.parse(delivered.stdout)).toMatchObject({
      status: 'loaded',
      failover: true,
      alerts: [{ kind: 'failover', source: 'frankfurter', delivered: true, attempts: 1 }],
    });
    expect(delivered.stderr).toMatch(/"msg":"alert sent"/);
    expect(receiver.received).toHaveLength(1);

    const down = await runCli(['--verbose', 'run', '--json'], {
      env: { ...env, FXPIPE_WEBHOOK_URL: `${await closedPortOrigin()}/hooks/${TOKEN}` },
    });
    expect(down.code).toBe(0);
    expect(JSON.parse(down.stdout)).toMatchObject({
      status: 'unchanged',
      alerts: [{ kind: 'failover', delivered: false, attempts: 3, error: matcher.stringMatching(/^ECONNREFUSED/) }],
    });
    const lines = down.stderr
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { runId?: string; msg: string });
    expect(lines.map((line) => line.runId)).toEqual(lines.map(() => (JSON.parse(down.stdout) as RunJson).runId)); // JSON lines off a TTY, each with the run id
    expect(lines.find((line) => line.msg === 'alert not delivered')).toMatchObject({
      level: 40,
      kind: 'failover',
      webhook: matcher.stringMatching(/^127\.0\.0\.1:\d+$/),
    });

    receiver.hang();
    const hung = await runCli(['run'], { env: { ...env, FXPIPE_WEBHOOK_URL: `${receiver.origin}/hooks/${TOKEN}` } });
    expect(hung.code).toBe(0);
    expect(hung.stdout).toContain(`  alerts: failover (frankfurter) not delivered: no answer within ${TIMEOUT_MS} ms\n`);

    server.injectFault('frankfurter', faults.outage(), Infinity);
    const failed = await runCli(['run', '--json'], { env: { ...env, FXPIPE_WEBHOOK_URL: `${await closedPortOrigin()}/hooks/${TOKEN}` } });
    expect(failed.code).toBe(1);
    expect((JSON.parse(failed.stdout) as RunJson).alerts).toMatchObject([{ kind: 'run_failed', delivered: false }]);

    const status = await runCli(['status', '--json'], { env: { ...env, FXPIPE_WEBHOOK_URL: `${receiver.origin}/hooks/${TOKEN}` } });
    expect((JSON.parse(status.stdout) as StatusJson).alerts.map((a) => a.kind)).toEqual(['run_failed', 'failover', 'failover', 'failover']);
    outputs.push(...[delivered, down, hung, failed, status].flatMap((r) => [r.stdout, r.stderr]));

    const client = await database.open();
    const [stored] = await client.query<{ t: string }>(
      `select string_agg(t, ' ') as t from (select a::text as t from alert_log a union all select r::text from pipeline_runs r
        union all select b::text from bronze_extraction b) all_rows`,
    );
    outputs.push(stored!.t);
    for (const output of outputs) expect(output).not.toContain(TOKEN);
  });
});
