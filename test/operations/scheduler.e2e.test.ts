import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createMarket } from '../../src/demo/market.js';
import { startProviderServer, type ProviderServer } from '../../src/demo/provider-server.js';
import { createLogger } from '../../src/log.js';
import { runPipeline, type PipelineOptions } from '../../src/jobs/pipeline.js';
import { Scheduler } from '../../src/jobs/scheduler.js';
import { SourceBreakers } from '../../src/sources/breaker.js';
import { defaultHttpPolicy } from '../../src/sources/http.js';
import type { Db, SessionDb } from '../../src/warehouse/db.js';
import { initWarehouse } from '../../src/warehouse/init.js';
import { recentRuns } from '../../src/warehouse/status.js';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { finished, startCli, waitForOutput } from '../helpers/cli.js';
import { pauseRunsAfterHistoryInsert } from '../helpers/pause-runs.js';
import { createTestDatabase, scratchDir, type TestDatabase } from '../helpers/database.js';
import { startReceiver } from '../helpers/webhook-receiver.js';
import { matcher } from '../helpers/matcher.js';

/** What `fxpipe schedule` runs each slot, against the provider server (its defaults: two sources, verify). */
function pipelineOptions(server: ProviderServer): PipelineOptions {
  return {
    kind: 'scheduled',
    sources: ['open-er-api', 'frankfurter'],
    verify: true,
    dryRun: false,
    changeThresholdPct: 0.01,
    deviationTolerancePct: 0.5,
    zScoreThreshold: 4,
    lockWaitMs: 5000,
    http: { ...defaultHttpPolicy, retries: 0 },
    settingsFor: (source) => ({ baseUrl: server.baseUrls[source] }),
    breakers: new SourceBreakers(),
    log: createLogger('silent'),
  };
}

describe('fxpipe schedule', () => {
  let database: TestDatabase;
  let server: ProviderServer;
  let env: Record<string, string>;
  let client: pg.Client;

  beforeEach(async () => {
    database = await createTestDatabase();
    await initWarehouse(await database.open());
    server = await startProviderServer({
      market: createMarket({ seed: 5, start: new Date('2026-06-01T00:00:00Z') }),
      clock: () => new Date(),
    });
    env = { ...server.env, DATABASE_URL: database.url, FXPIPE_HTTP_RETRIES: '0', FXPIPE_LOG_LEVEL: 'warn' };
    client = new pg.Client({ connectionString: database.url });
    await client.connect();
  });
  afterEach(async () => {
    await client.end();
    await server.close();
    await database.drop();
  });

  const rows = async <T extends pg.QueryResultRow>(sql: string) => (await client.query<T>(sql)).rows;

  it('two schedulers at once run each slot exactly once, driven by their clock, and stop cleanly', async () => {
    // The schedulers' clock and timers are vitest's: each advance fires the slots it passes, with no waiting.
    const firstSlot = Math.floor(Date.now() / 2000) * 2000;
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'], now: firstSlot + 1000 });
    const opened: Db[] = [];
    const scheduler = () =>
      new Scheduler({
        cron: '*/2 * * * * *',
        timezone: 'UTC',
        heartbeatMs: 1000,
        log: createLogger('silent'),
        async withDb(fn) {
          const db = await database.open();
          opened.push(db);
          try {
            return await fn(db);
          } finally {
            await db.close();
          }
        },
        runSlot: async (db) => {
          const result = await runPipeline(db, { ...pipelineOptions(server), kind: 'scheduled' });
          return { runId: result.runId, status: result.status };
        },
        recordMissedSlot: async () => ({ runId: null, status: 'failed' }),
      });
    const [a, b] = [scheduler(), scheduler()];
    try {
      await Promise.all([a.start(), b.start()]);
      for (let slot = 0; slot < 4; slot++) {
        await vi.advanceTimersByTimeAsync(2000);
        // Real waiting while the slot's run works (node:timers/promises is not faked); the schedulers' clock stays put.
        for (let waited = 0; (a.busy || b.busy) && waited < 30_000; waited += 20) await sleep(20);
      }
      await Promise.all([a.stop(), b.stop()]);
    } finally {
      vi.useRealTimers();
    }
    const slots = await rows<{ slot_at: Date; run_id: string | null; catch_up: boolean }>(
      'select slot_at, run_id, catch_up from scheduler_slots order by slot_at',
    );
    const runs = await rows<{ run_id: string; kind: string }>(`select run_id, kind from pipeline_runs`);
    // The catch-up slot at start, then each of the four slots the clock passed.
    expect(slots.map((s) => s.slot_at.getTime())).toEqual([0, 1, 2, 3, 4].map((i) => firstSlot + i * 2000));
    expect(runs.every((r) => r.kind === 'scheduled')).toBe(true);
    // Every run belongs to exactly one slot and no slot ran twice; which scheduler claims a slot is a race.
    expect(slots.every((s) => s.run_id !== null)).toBe(true);
    expect(new Set(slots.map((s) => s.run_id)).size).toBe(slots.length);
    expect(runs.map((r) => r.run_id).sort()).toEqual(slots.map((s) => s.run_id).sort());
    expect(await rows('select * from scheduler_instances')).toEqual([]);
  });

  it('stops cleanly on SIGTERM as a process', async () => {
    const child = startCli(['schedule', '--cron', '0 0 1 1 *'], { env });
    await waitForOutput(child, 'Scheduler ');
    expect(await rows('select * from scheduler_instances')).toHaveLength(1);
    child.kill('SIGTERM');
    const result = await finished(child);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Scheduler stopped.');
    expect(await rows('select * from scheduler_instances')).toEqual([]);
  });

  it('stop() waits for a heartbeat in flight, so the instance row it deletes stays deleted', async () => {
    const db = await database.open();
    let slowBeats = false;
    // Holds every heartbeat insert for 400 ms once slowBeats is set: stop() comes while one is in flight.
    const slowed: SessionDb = {
      driver: db.driver,
      transaction: (fn, options) => db.transaction(fn, options),
      lockSession: () => db.lockSession(),
      close: () => db.close(),
      query: async (text, params) => {
        if (slowBeats && text.includes('insert into scheduler_instances')) await sleep(400);
        return db.query(text, params);
      },
    };
    const scheduler = new Scheduler({
      cron: '0 0 1 1 *',
      timezone: 'UTC',
      heartbeatMs: 20,
      log: createLogger('silent'),
      withDb: (fn) => fn(slowed),
      runSlot: async () => ({ runId: null, status: 'failed' }),
      recordMissedSlot: async () => ({ runId: null, status: 'failed' }),
    });
    await scheduler.start();
    slowBeats = true;
    await sleep(60);
    await scheduler.stop();
    await sleep(600);
    expect(await rows('select * from scheduler_instances')).toEqual([]);
  });

  it('after downtime it catches up once (one run for the missed slots), then waits for the next slot', async () => {
    await client.query(
      `insert into scheduler_slots (slot_at, claimed_by, run_id, status) values (now() - interval '3 days', gen_random_uuid(), null, 'loaded')`,
    );
    const scheduler = startCli(['schedule', '--cron', '0 */4 * * *'], { env });
    await waitForOutput(scheduler, 'Scheduler ');
    const slots = await rows<{ slot_at: Date; catch_up: boolean; status: string }>(
      'select slot_at, catch_up, status from scheduler_slots order by slot_at',
    );
    expect(slots).toHaveLength(2);
    expect(slots[1]).toMatchObject({ catch_up: true, status: 'loaded' });
    expect(slots[1]!.slot_at.getUTCHours() % 4).toBe(0);
    expect(await rows(`select * from pipeline_runs`)).toHaveLength(1);
    const [live] = await rows<{ next_run_at: Date }>('select next_run_at from scheduler_instances');
    expect(live!.next_run_at.getTime()).toBeGreaterThan(Date.now());
    scheduler.kill('SIGINT');
    expect((await finished(scheduler)).code).toBe(0);
  });

  describe('SIGTERM during a run', () => {
    it('lets the run in progress finish, then exits 0: the run is whole', async () => {
      const pause = await pauseRunsAfterHistoryInsert(database.url);
      const scheduler = startCli(['schedule', '--cron', '0 0 1 1 *'], { env });
      await pause.waitUntilPaused();
      scheduler.kill('SIGTERM');
      await sleep(500);
      expect(scheduler.exitCode).toBeNull(); // still waiting for its run
      await pause.release();
      const result = await finished(scheduler);
      expect(result.code).toBe(0);
      const [run] = await rows<{ status: string; finished_at: Date | null }>('select status, finished_at from pipeline_runs');
      expect(run).toMatchObject({ status: 'loaded', finished_at: matcher.any(Date) });
      expect(await rows(`select * from fact_rates_history`)).not.toHaveLength(0);
    });

    it('a second signal aborts: the load rolls back and leaves nothing half-written; the run shows as interrupted', async () => {
      const pause = await pauseRunsAfterHistoryInsert(database.url);
      const scheduler = startCli(['schedule', '--cron', '0 0 1 1 *'], { env });
      await pause.waitUntilPaused();
      scheduler.kill('SIGTERM');
      await sleep(200);
      scheduler.kill('SIGTERM');
      const result = await finished(scheduler);
      expect(result.code).toBe(130);
      await pause.release();
      for (let i = 0; i < 100; i++) {
        if ((await rows(`select 1 from pg_stat_activity where datname = current_database() and application_name = 'fxpipe'`)).length === 0)
          break;
        await sleep(50);
      }
      for (const table of ['fact_rates_history', 'fact_rates_current']) {
        expect(await rows(`select * from ${table}`), table).toEqual([]);
      }
      // The responses received are kept (extract, then load), and status tells the run died.
      expect(await rows(`select * from bronze_extraction`)).not.toHaveLength(0);
      const db = await database.open();
      expect((await recentRuns(db, 10)).map((r) => r.status)).toEqual(['interrupted']);
    });
  });

  describe('the configured production check after each run', () => {
    interface StoredCheck {
      check_id: string;
      label: string;
      base: string;
      quote: string;
      verdict: string;
    }
    const checks = () => rows<StoredCheck>('select check_id, label, base, quote, verdict from production_checks order by check_row_id');
    const pipelineRuns = async () => Number((await rows<{ n: string }>('select count(*)::text as n from pipeline_runs'))[0]!.n);

    /** Runs a scheduler every 2 s until a run and a check after it are stored; stops it. */
    async function scheduleUntilChecked(extra: Record<string, string>) {
      const scheduler = startCli(['schedule', '--cron', '*/2 * * * * *'], { env: { ...env, ...extra } });
      await waitForOutput(scheduler, 'Scheduler ');
      for (let i = 0; i < 150 && (await checks()).length === 0; i++) await sleep(200);
      scheduler.kill('SIGTERM');
      const result = await finished(scheduler);
      expect(result.code, result.stderr).toBe(0);
      return result;
    }

    it("FXPIPE_PRODUCTION_URL: the endpoint's rates, checked and stored under the label; all ok, so no alert", async () => {
      const receiver = await startReceiver();
      try {
        await scheduleUntilChecked({
          FXPIPE_PRODUCTION_URL: `${server.baseUrls['open-er-api']}/v6/latest/USD`,
          FXPIPE_PRODUCTION_FORMAT: 'open-er-api',
          // The production source is the primary itself; the references may differ from it by a few percent.
          FXPIPE_PRODUCTION_TOLERANCE_PCT: '50',
          FXPIPE_PRODUCTION_LABEL: 'processor',
          FXPIPE_WEBHOOK_URL: `${receiver.origin}/hook`,
          FXPIPE_ALERTS: 'production_deviation',
        });
        const stored = await checks();
        const first = stored.filter((c) => c.check_id === stored[0]!.check_id);
        const published = Object.keys(
          ((await (await fetch(`${server.baseUrls['open-er-api']}/v6/latest/USD`)).json()) as { rates: object }).rates,
        );
        expect(first.map((c) => c.quote).sort()).toEqual(published.filter((q) => q !== 'USD').sort());
        expect(first.every((c) => c.label === 'processor' && c.base === 'USD' && c.verdict === 'ok')).toBe(true);
        expect(await pipelineRuns()).toBeGreaterThanOrEqual(1);
        expect(receiver.received).toEqual([]);
      } finally {
        await receiver.close();
      }
    }, 40_000);

    it('FXPIPE_PRODUCTION_FILE: a deviating row and an unknown pair raise production_deviation with those rows', async () => {
      const receiver = await startReceiver();
      const file = path.join(scratchDir('fxpipe-schedule-check-'), 'production.csv');
      writeFileSync(file, 'base,quote,rate\nUSD,EUR,1000\nUSD,ZZZ,1.5\n');
      try {
        await scheduleUntilChecked({
          FXPIPE_PRODUCTION_FILE: file,
          FXPIPE_WEBHOOK_URL: `${receiver.origin}/hook`,
          FXPIPE_ALERTS: 'production_deviation',
        });
        const stored = await checks();
        const first = stored.filter((c) => c.check_id === stored[0]!.check_id);
        expect(first.map((c) => [c.label, c.base, c.quote, c.verdict])).toEqual([
          ['scheduled', 'USD', 'EUR', 'deviates'],
          ['scheduled', 'USD', 'ZZZ', 'no_rate'],
        ]);
        const alerts = receiver.received.map(
          (r) => r.body as { kind: string; severity: string; runId: null; details: Record<string, unknown> },
        );
        expect(alerts.length).toBeGreaterThanOrEqual(1);
        expect(alerts[0]).toMatchObject({
          kind: 'production_deviation',
          severity: 'warning',
          runId: null,
          details: {
            label: 'scheduled',
            checkId: first[0]!.check_id,
            tolerancePct: '0.5',
            rows: 2,
            ok: 0,
            deviates: 1,
            noRate: 1,
            notOkOmitted: 0,
          },
        });
        const notOk = alerts[0]!.details.notOk as { line: number; quote: string; verdict: string; consensusRate: string | null }[];
        expect(notOk.map((r) => [r.line, r.quote, r.verdict])).toEqual([
          [2, 'EUR', 'deviates'],
          [3, 'ZZZ', 'no_rate'],
        ]);
        expect(Number(notOk[0]!.consensusRate)).toBeGreaterThan(0);
        expect(await rows(`select kind, delivered from alert_log where kind = 'production_deviation' limit 1`)).toEqual([
          { kind: 'production_deviation', delivered: true },
        ]);
      } finally {
        await receiver.close();
      }
    }, 40_000);

    it('an unreadable production file is one warning a run, and the scheduler goes on; a half-configured check is exit 2', async () => {
      const missing = path.join(scratchDir('fxpipe-schedule-check-'), 'absent.csv');
      const scheduler = startCli(['schedule', '--cron', '*/2 * * * * *'], { env: { ...env, FXPIPE_PRODUCTION_FILE: missing } });
      await waitForOutput(scheduler, 'Scheduler ');
      for (let i = 0; i < 150 && (await pipelineRuns()) < 2; i++) await sleep(200);
      scheduler.kill('SIGTERM');
      const result = await finished(scheduler);
      expect(result.code).toBe(0);
      const warnings = result.stderr.split('\n').filter((line) => line.includes('production check failed'));
      expect(warnings.length).toBeGreaterThanOrEqual(1);
      expect(warnings[0]).toContain(`${missing}: cannot read it (ENOENT)`);
      expect(await checks()).toEqual([]);

      const half = await finished(startCli(['schedule'], { env: { ...env, FXPIPE_PRODUCTION_URL: 'http://127.0.0.1:9/latest' } }));
      expect(half).toMatchObject({
        code: 2,
        stderr: 'fxpipe: FXPIPE_PRODUCTION_URL needs FXPIPE_PRODUCTION_FORMAT (frankfurter, open-er-api, exchangerate-api, oxr)\n',
      });
    }, 40_000);
  });

  it('rejects a bad --cron or --timezone with exit 2', async () => {
    const bad = await finished(startCli(['schedule', '--cron', 'every day'], { env }));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^fxpipe: invalid --cron "every day": /);
    const zone = await finished(startCli(['schedule', '--timezone', 'Mars/Olympus'], { env }));
    expect(zone.code).toBe(2);
    expect(zone.stderr).toBe('fxpipe: invalid --timezone "Mars/Olympus": expected an IANA time zone such as UTC or Europe/Berlin\n');
  });
});
