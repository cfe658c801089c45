import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RateDecimal } from '../../src/transform/decimal.js';
import { checkProductionRates } from '../../src/verify/check.js';
import { parseProductionRates } from '../../src/verify/production-rates.js';
import { bulkLoadHistory, type HistoryRow } from '../../src/warehouse/bulk-load.js';
import { upsertCurrencies, upsertSource } from '../../src/warehouse/dimensions.js';
import type { DirectDb } from '../../src/warehouse/direct.js';
import { initWarehouse } from '../../src/warehouse/init.js';
import { ensurePartitions } from '../../src/warehouse/partitions.js';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, scratchDir, type TestDatabase } from '../helpers/database.js';
import { connect, dropRoles, passwordFile, uniqueRole, urlAs } from '../consumption/support.js';
import { startReceiver } from '../helpers/webhook-receiver.js';
import { startServe } from '../serve/support.js';
import { LEVELS, QUOTES, SOURCES } from './support.js';

/**
 * `fxpipe verify --file` as a data team runs it: three sources loaded for the same day, a production file of 25 rates
 * of which 3 are 2 % off, 1 is a pair fxpipe does not know and 21 are within 0.1 %. The expected consensus of each
 * pair is the median of what the three sources published, worked out here.
 */
const AS_OF = '2024-03-05T12:00:00.000Z';
const AT = '2024-03-05T15:30:00Z';
const published = (source: keyof typeof SOURCES, i: number) => new RateDecimal(LEVELS[i]!).times(SOURCES[source]).toSignificantDigits(8);

const median = (values: RateDecimal[]) => {
  const sorted = [...values].sort((a, b) => a.cmp(b));
  return sorted.length % 2 ? sorted[(sorted.length - 1) / 2]! : sorted[sorted.length / 2 - 1]!.plus(sorted[sorted.length / 2]!).div(2);
};
const usdConsensus = (i: number) => median((Object.keys(SOURCES) as (keyof typeof SOURCES)[]).map((s) => published(s, i)));
const crossConsensus = (b: number, q: number) =>
  median((Object.keys(SOURCES) as (keyof typeof SOURCES)[]).map((s) => published(s, q).div(published(s, b))));

interface Production {
  base: string;
  quote: string;
  rate: string;
  expected: 'ok' | 'deviates' | 'no_rate';
}

/** 25 rows: USD→each of the 20 quotes, 4 crosses, 1 unknown pair; rows 3, 11 and 22 off by 2 %, the others by 0.05 %. */
function productionRows(): Production[] {
  const rows: Production[] = [];
  const off = (value: RateDecimal, deviates: boolean) =>
    value
      .times(deviates ? '1.02' : '1.0005')
      .toSignificantDigits(10)
      .toFixed();
  QUOTES.forEach((quote, i) => rows.push({ base: 'USD', quote, rate: off(usdConsensus(i), false), expected: 'ok' }));
  for (const [b, q] of [
    [0, 1],
    [0, 2],
    [1, 3],
    [4, 5],
  ] as const) {
    rows.push({ base: QUOTES[b]!, quote: QUOTES[q]!, rate: off(crossConsensus(b, q), false), expected: 'ok' });
  }
  rows.push({ base: 'USD', quote: 'ZZZ', rate: '1.5', expected: 'no_rate' });
  for (const i of [2, 10, 21]) {
    const row = rows[i]!;
    const consensus =
      row.base === 'USD' ? usdConsensus(QUOTES.indexOf(row.quote)) : crossConsensus(QUOTES.indexOf(row.base), QUOTES.indexOf(row.quote));
    rows[i] = { ...row, rate: off(consensus, true), expected: 'deviates' };
  }
  return rows;
}

interface CheckJson {
  checkId: string;
  counts: Record<string, number>;
  rows: {
    line: number;
    base: string;
    quote: string;
    rate: string;
    consensusRate: string | null;
    deviationPct: string | null;
    verdict: string;
    sourceCount: number | null;
  }[];
}

describe('fxpipe verify --file', () => {
  let database: TestDatabase;
  let db: DirectDb;
  let env: Record<string, string>;
  let dir: string;
  const rows = productionRows();
  const roles: string[] = [];
  const clients: pg.Client[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    db = await database.open();
    await initWarehouse(db);
    const ids = await upsertCurrencies(db, ['USD', ...QUOTES]);
    await ensurePartitions(db, '2024-03-01', '2024-03-31');
    for (const source of Object.keys(SOURCES) as (keyof typeof SOURCES)[]) {
      const sourceId = await upsertSource(db, source, 'reference', `https://example.invalid/${source}`);
      const history: HistoryRow[] = QUOTES.map((quote, i) => ({
        dateKey: 20240305,
        baseId: ids.get('USD')!,
        quoteId: ids.get(quote)!,
        sourceId,
        rateTimestamp: AS_OF,
        rate: published(source, i).toFixed(),
        previousRate: null,
        changePct: null,
      }));
      await bulkLoadHistory(db, history, { extractionId: null, runId: randomUUID(), nothingStored: true });
      await db.query('select fx_derive_publications($1::smallint)', [sourceId]);
    }
    dir = scratchDir('fxpipe-verify-');
    env = { DATABASE_URL: database.url, FXPIPE_HOME: path.join(dir, 'home') };
  }, 120_000);

  afterAll(async () => {
    for (const client of clients) await client.end().catch(() => undefined);
    await database?.drop();
    await dropRoles(inject('adminUrl'), roles);
  });

  const file = (name: string, text: string) => {
    const at = path.join(dir, name);
    writeFileSync(at, text);
    return at;
  };
  const csv = (production: Production[]) =>
    `base,quote,rate,at,desk\n${production.map((r) => `${r.base},${r.quote},${r.rate},${AT},treasury`).join('\n')}\n`;
  const stored = async () => Number((await db.query<{ n: string }>('select count(*)::text as n from production_checks'))[0]!.n);

  it('flags exactly the rows 2 % off as deviates and the unknown pair as no_rate, exits 4, and a reader reads the 25 verdicts', async () => {
    const result = await runCli(['verify', '--file', file('production.csv', csv(rows)), '--label', 'processor', '--json'], { env });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(4);
    const check = JSON.parse(result.stdout) as CheckJson;
    expect(check.counts).toEqual({ ok: 21, deviates: 3, no_rate: 1 });
    expect(check.rows.map((r) => r.verdict)).toEqual(rows.map((r) => r.expected));
    expect(check.rows.map((r) => r.line)).toEqual(rows.map((_, i) => i + 2));
    for (const [i, row] of check.rows.entries()) {
      const expected = rows[i]!;
      if (expected.expected === 'no_rate') {
        expect(row).toMatchObject({ consensusRate: null, deviationPct: null, sourceCount: null });
        continue;
      }
      const consensus =
        expected.base === 'USD'
          ? usdConsensus(QUOTES.indexOf(expected.quote))
          : crossConsensus(QUOTES.indexOf(expected.base), QUOTES.indexOf(expected.quote));
      expect(new RateDecimal(row.consensusRate!).toSignificantDigits(14).eq(consensus.toSignificantDigits(14)), `line ${row.line}`).toBe(
        true,
      );
      expect(Math.abs(Number(row.deviationPct) - (expected.expected === 'deviates' ? 2 : 0.05))).toBeLessThan(1e-4);
      expect(row.sourceCount).toBe(3);
    }

    const role = uniqueRole();
    roles.push(role);
    const granted = await runCli(['db', 'grant-reader', role, '--password-file', passwordFile('pw-verify-reader')], { env });
    expect(granted.code).toBe(0);
    const reader = await connect(urlAs(database.url, role, 'pw-verify-reader'));
    clients.push(reader);
    const { rows: verdicts } = await reader.query<{ check_row_id: string; line: number; verdict: string; label: string }>(
      'select check_row_id::text, line, verdict, label from api.production_checks where check_id = $1',
      [check.checkId],
    );
    expect(verdicts).toHaveLength(25);
    expect(verdicts.map((v) => v.line)).toEqual(rows.map((_, i) => i + 2).reverse());
    expect(verdicts.map((v) => v.verdict)).toEqual(rows.map((r) => r.expected).reverse());
    expect(new Set(verdicts.map((v) => v.label))).toEqual(new Set(['processor']));
  });

  it('gives the same verdicts from a JSON array and from JSON lines, with the lines or elements they came from', async () => {
    const objects = rows.map((r) => ({ base: r.base, quote: r.quote, rate: r.rate, at: AT }));
    const array = JSON.parse(
      (await runCli(['verify', '--file', file('production.json', JSON.stringify(objects)), '--json'], { env })).stdout,
    ) as CheckJson;
    expect(array.rows.map((r) => r.verdict)).toEqual(rows.map((r) => r.expected));
    expect(array.rows.map((r) => r.line)).toEqual(rows.map((_, i) => i + 1));
    // Numbers as JSON numbers, read exactly (no float): the same rate text comes back.
    const numbers = `${rows.map((r) => `{"base":"${r.base}","quote":"${r.quote}","rate":${r.rate},"at":"${AT}"}`).join('\n\n')}\n`;
    const lines = JSON.parse(
      (await runCli(['verify', '--file', file('production.jsonl', numbers), '--json'], { env })).stdout,
    ) as CheckJson;
    expect(lines.rows.map((r) => r.verdict)).toEqual(rows.map((r) => r.expected));
    expect(lines.rows.map((r) => r.line)).toEqual(rows.map((_, i) => 2 * i + 1));
    lines.rows.forEach((r, i) => expect(new RateDecimal(r.rate).eq(rows[i]!.rate), `line ${r.line}`).toBe(true));
  });

  it('exits 0 when every row is within the tolerance, and prints a table and one summary line for people', async () => {
    const result = await runCli(['verify', '--file', file('good.csv', csv(rows.filter((r) => r.expected === 'ok')))], { env });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const out = result.stdout.trimEnd().split('\n');
    expect(out[0]).toMatch(/^\s*line\s+pair\s+rate\s+consensus\s+deviation\s+verdict\s+sources\s+at$/);
    expect(out).toHaveLength(1 + 21 + 1);
    expect(out.at(-1)).toMatch(
      /^21 rates checked against the consensus \(tolerance 0\.5 %\): 21 ok, 0 deviate, 0 with no rate in force; stored as check [0-9a-f-]{36} in api\.production_checks\.$/,
    );
    // A wider tolerance turns the 2 % rows into ok ones.
    expect(
      (
        await runCli(['verify', '--file', file('all.csv', csv(rows.filter((r) => r.expected !== 'no_rate'))), '--tolerance', '2.5'], {
          env,
        })
      ).code,
    ).toBe(0);
  });

  it('--url reads an endpoint in each provider format and gives the verdicts --file gives for the same rates', async () => {
    // The USD-based rows, as a production source that is itself such a provider would answer them.
    const usd = rows.filter((r) => r.base === 'USD');
    const rates = `{${usd.map((r) => `"${r.quote}":${r.rate}`).join(',')}}`;
    const published = Date.parse('2024-03-05T15:00:00Z') / 1000;
    const answers: Record<string, string> = {
      '/frankfurter/v1/latest': `{"amount":1.0,"base":"USD","date":"2024-03-05","rates":${rates}}`,
      '/open-er-api/v6/latest/USD': `{"result":"success","provider":"https://www.exchangerate-api.com","documentation":"https://www.exchangerate-api.com/docs/free","terms_of_use":"https://www.exchangerate-api.com/terms","time_last_update_unix":${published},"time_last_update_utc":"Tue, 05 Mar 2024 15:00:00 +0000","time_next_update_unix":${published + 86400},"time_next_update_utc":"Wed, 06 Mar 2024 15:00:00 +0000","time_eol_unix":0,"base_code":"USD","rates":{"USD":1,${rates.slice(1)}}`,
      '/exchangerate-api/v6/0123456789abcdef0123/latest/USD': `{"result":"success","documentation":"https://www.exchangerate-api.com/docs","terms_of_use":"https://www.exchangerate-api.com/terms","time_last_update_unix":${published},"time_last_update_utc":"Tue, 05 Mar 2024 15:00:00 +0000","time_next_update_unix":${published + 86400},"time_next_update_utc":"Wed, 06 Mar 2024 15:00:00 +0000","base_code":"USD","conversion_rates":{"USD":1,${rates.slice(1)}}`,
      '/oxr/api/latest.json': `{"disclaimer":"Usage subject to terms: https://openexchangerates.org/terms","license":"https://openexchangerates.org/license","timestamp":${published},"base":"USD","rates":${rates}}`,
    };
    const server: Server = createServer((request, response) => {
      const body = answers[new URL(request.url!, 'http://x').pathname];
      response.writeHead(body ? 200 : 404, { 'content-type': 'application/json' }).end(body ?? '{"error":"not found"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const expected = usd.map((r) => [r.quote, r.expected]);
      for (const [format, pathname] of [
        ['frankfurter', '/frankfurter/v1/latest?base=USD'],
        ['open-er-api', '/open-er-api/v6/latest/USD'],
        ['exchangerate-api', '/exchangerate-api/v6/0123456789abcdef0123/latest/USD'],
        ['oxr', '/oxr/api/latest.json?app_id=secret-app-id'],
      ] as const) {
        const result = await runCli(['verify', '--url', `${base}${pathname}`, '--format', format, '--json'], { env });
        expect(result.stderr, format).toBe('');
        expect(result.code, format).toBe(4);
        const check = JSON.parse(result.stdout) as CheckJson;
        expect(
          check.rows.map((r) => [r.quote, r.verdict]),
          format,
        ).toEqual(expected);
        expect(
          check.rows.every((r) => r.base === 'USD'),
          format,
        ).toBe(true);
      }
      // Another format's answer, or no answer, is bad input: exit 2, the key nowhere in the message, nothing stored.
      const before = await stored();
      const wrong = await runCli(['verify', '--url', `${base}/oxr/api/latest.json?app_id=secret-app-id`, '--format', 'open-er-api'], {
        env,
      });
      expect(wrong.code).toBe(2);
      expect(wrong.stderr).toMatch(
        new RegExp(
          `^fxpipe: ${base.replaceAll('.', '\\.')}/oxr/api/latest\\.json\\?app_id=…: not an answer in the open-er-api format: .+; nothing was checked or stored\\n$`,
        ),
      );
      const keyed = await runCli(
        ['verify', '--url', `${base}/exchangerate-api/v6/0123456789abcdef0123/latest/EUR`, '--format', 'exchangerate-api'],
        { env },
      );
      expect(keyed.code).toBe(2);
      expect(keyed.stderr).not.toContain('0123456789abcdef0123');
      expect(keyed.stderr).toContain('/exchangerate-api/v6/…/latest/EUR');
      const gone = createServer();
      await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', resolve));
      const port = (gone.address() as AddressInfo).port;
      await new Promise((resolve) => gone.close(resolve));
      const closed = await runCli(['verify', '--url', `http://127.0.0.1:${port}/latest`, '--format', 'oxr'], { env });
      expect(closed).toMatchObject({
        code: 2,
        stderr: `fxpipe: http://127.0.0.1:${port}/latest: no answer: ECONNREFUSED; nothing was checked or stored\n`,
      });
      expect(await stored()).toBe(before);
      expect((await runCli(['verify', '--url', `${base}/x`], { env })).stderr).toBe(
        'fxpipe: --url needs --format (frankfurter, open-er-api, exchangerate-api, oxr)\n',
      );
    } finally {
      server.close();
    }
  });

  it('a check with rows not ok POSTs production_deviation to the webhook with those rows; one all ok posts nothing', async () => {
    const receiver = await startReceiver();
    try {
      const hooked = { ...env, FXPIPE_WEBHOOK_URL: `${receiver.origin}/hooks/secret-hook-token` };
      const result = await runCli(['verify', '--file', file('alerted.csv', csv(rows)), '--label', 'processor', '--json'], { env: hooked });
      expect(result.code).toBe(4);
      const check = JSON.parse(result.stdout) as CheckJson & { alerts: unknown[] };
      expect(check.alerts).toEqual([{ kind: 'production_deviation', source: null, delivered: true, attempts: 1 }]);
      expect(receiver.received).toHaveLength(1);
      const alert = receiver.received[0]!.body as {
        kind: string;
        severity: string;
        message: string;
        runId: null;
        source: null;
        details: Record<string, unknown>;
      };
      expect(alert).toMatchObject({
        kind: 'production_deviation',
        severity: 'warning',
        runId: null,
        source: null,
        message:
          'fxpipe: production check processor: of 25 rates, 3 deviate by more than 0.5 % from the consensus and 1 has no rate in force',
        details: {
          label: 'processor',
          checkId: check.checkId,
          tolerancePct: '0.5',
          rows: 25,
          ok: 21,
          deviates: 3,
          noRate: 1,
          notOkOmitted: 0,
        },
      });
      const notOk = alert.details.notOk as {
        line: number;
        base: string;
        quote: string;
        rate: string;
        verdict: string;
        consensusRate: string | null;
      }[];
      const expected = rows.map((r, i) => ({ ...r, line: i + 2 })).filter((r) => r.expected !== 'ok');
      expect(notOk.map((r) => [r.line, r.base, r.quote, r.rate, r.verdict])).toEqual(
        expected.map((r) => [r.line, r.base, r.quote, r.rate, r.expected]),
      );
      expect(notOk.map((r) => r.consensusRate)).toEqual(check.rows.filter((r) => r.verdict !== 'ok').map((r) => r.consensusRate));

      // All ok: nothing posted. FXPIPE_PRODUCTION_FILE is the input when no --file or --url is given.
      const good = await runCli(['verify', '--json'], {
        env: { ...hooked, FXPIPE_PRODUCTION_FILE: file('configured.csv', csv(rows.filter((r) => r.expected === 'ok'))) },
      });
      expect(good.code).toBe(0);
      expect((JSON.parse(good.stdout) as { alerts: unknown[]; counts: unknown }).alerts).toEqual([]);
      expect(receiver.received).toHaveLength(1);
      const none = await runCli(['verify'], { env });
      expect(none).toMatchObject({
        code: 2,
        stderr:
          'fxpipe: give the rates with --file FILE or --url URL --format FORMAT (or set FXPIPE_PRODUCTION_FILE, or FXPIPE_PRODUCTION_URL and FXPIPE_PRODUCTION_FORMAT)\n',
      });
    } finally {
      await receiver.close();
    }
  });

  it('fxpipe serve: POST /api/v1/verify gives the verdicts the command gives, with the token; GET /api/v1/production-checks lists the checks', async () => {
    const token = 'verify-token-0123456789abcdef';
    const served = await startServe(database, env.FXPIPE_HOME!, { FXPIPE_API_TOKEN: token });
    try {
      const post = (body: string, query = '', headers: Record<string, string> = { authorization: `Bearer ${token}` }) =>
        fetch(`${served.url}/api/v1/verify${query}`, { method: 'POST', body, headers: { 'content-type': 'text/csv', ...headers } });
      const before = await stored();
      expect((await post(csv(rows), '', {})).status).toBe(401);
      expect(await stored()).toBe(before);

      const answer = await post(csv(rows), '?label=pricing-service&tolerance=0.5');
      expect(answer.status).toBe(200);
      const check = (await answer.json()) as CheckJson & { label: string; alerts: unknown[] };
      expect(check).toMatchObject({ label: 'pricing-service', counts: { ok: 21, deviates: 3, no_rate: 1 }, alerts: [] });
      expect(check.rows.map((r) => [r.line, r.verdict])).toEqual(rows.map((r, i) => [i + 2, r.expected]));
      const byCommand = JSON.parse(
        (await runCli(['verify', '--file', file('served.csv', csv(rows)), '--json'], { env })).stdout,
      ) as CheckJson;
      expect(check.rows.map((r) => [r.consensusRate, r.deviationPct, r.sourceCount])).toEqual(
        byCommand.rows.map((r) => [r.consensusRate, r.deviationPct, r.sourceCount]),
      );
      // JSON lines are read as --file reads them.
      const jsonLines = rows.map((r) => JSON.stringify({ base: r.base, quote: r.quote, rate: r.rate, at: AT })).join('\n');
      expect(
        (
          (await (
            await post(jsonLines, '', { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson' })
          ).json()) as CheckJson
        ).rows.map((r) => r.verdict),
      ).toEqual(rows.map((r) => r.expected));

      // The same rules for bad input: a 400 naming the line, nothing stored; a body over 5 MiB is refused before it is read.
      const count = await stored();
      const broken = csv(rows).split('\n');
      broken[4] = `USD,GBP,,${AT},treasury`;
      const bad = await post(broken.join('\n'));
      expect(bad.status).toBe(400);
      expect(await bad.json()).toEqual({ error: 'the body line 5: no rate; nothing was checked or stored' });
      expect((await post(csv(rows), '?tolerance=lots')).status).toBe(400);
      const huge = await post(`base,quote,rate\n${'USD,EUR,0.92\n'.repeat(500_000)}`);
      expect(huge.status).toBe(413);
      expect(await stored()).toBe(count);

      const listed = await fetch(`${served.url}/api/v1/production-checks?limit=3`, { headers: { authorization: `Bearer ${token}` } });
      const { checks } = (await listed.json()) as {
        checks: {
          checkId: string;
          label: string | null;
          rows: number;
          ok: number;
          deviates: number;
          noRate: number;
          notOk: { line: number }[];
        }[];
      };
      expect(checks).toHaveLength(3);
      expect(checks[0]).toMatchObject({ rows: 25, ok: 21, deviates: 3, noRate: 1 });
      expect(checks[1]).toMatchObject({ checkId: byCommand.checkId, label: null });
      expect(checks[2]).toMatchObject({ checkId: check.checkId, label: 'pricing-service' });
      expect(checks[2]!.notOk.map((r) => r.line)).toEqual(
        rows
          .map((r, i) => ({ ...r, line: i + 2 }))
          .filter((r) => r.expected !== 'ok')
          .map((r) => r.line),
      );
    } finally {
      await served.stop();
    }
  });

  it('checks stored at the same time each hold a contiguous run of check_row_id, so a reader polling by it misses none', async () => {
    const sessions = await Promise.all([0, 1, 2, 3].map(() => database.open()));
    try {
      const rates = await parseProductionRates(csv(rows), 'concurrent.csv');
      const checks = await Promise.all(
        sessions.map((session, i) =>
          checkProductionRates(session, rates, {
            tolerancePct: '0.5',
            label: `concurrent-${i}`,
            now: new Date(),
            timeoutMs: 60_000,
            maxRows: 1000,
          }),
        ),
      );
      for (const check of checks) {
        const [span] = await db.query<{ n: number; first: string; last: string }>(
          'select count(*)::int as n, min(check_row_id)::text as first, max(check_row_id)::text as last from production_checks where check_id = $1',
          [check.checkId],
        );
        expect(span!.n).toBe(25);
        // No other check's row inside this one's span.
        const [inside] = await db.query<{ n: number }>(
          'select count(*)::int as n from production_checks where check_row_id between $1 and $2 and check_id <> $3',
          [span!.first, span!.last, check.checkId],
        );
        expect(inside!.n, check.label!).toBe(0);
        expect(check.counts).toEqual({ ok: 21, deviates: 3, no_rate: 1 });
      }
    } finally {
      await Promise.all(sessions.map((session) => session.close()));
    }
  });

  it('fxpipe status shows the last check: its counts and the rows that were not ok', async () => {
    const check = JSON.parse(
      (await runCli(['verify', '--file', file('status.csv', csv(rows)), '--label', 'pricing', '--json'], { env })).stdout,
    ) as CheckJson;
    const status = JSON.parse((await runCli(['status', '--json'], { env })).stdout) as { productionCheck: Record<string, unknown> };
    const notOk = rows.map((r, i) => ({ ...r, line: i + 2 })).filter((r) => r.expected !== 'ok');
    expect(status.productionCheck).toMatchObject({ checkId: check.checkId, label: 'pricing', rows: 25, ok: 21, deviates: 3, noRate: 1 });
    expect((status.productionCheck.notOk as { line: number; verdict: string }[]).map((r) => [r.line, r.verdict])).toEqual(
      notOk.map((r) => [r.line, r.expected]),
    );
    const human = await runCli(['status'], { env });
    expect(human.stdout).toMatch(
      new RegExp(
        `\\nLast production check: pricing, \\d{4}-\\d{2}-\\d{2} [\\d:]{8}Z: 25 rates, 21 ok, 3 deviate, 1 with no rate in force \\(check ${check.checkId}\\)\\n`,
      ),
    );
  });

  it('a malformed row exits 2 naming its line, and nothing is stored; so do a missing file and a bad tolerance', async () => {
    const before = await stored();
    const broken = csv(rows).split('\n');
    broken[7] = `USD,EUR,0.9x,${AT},treasury`;
    const result = await runCli(['verify', '--file', file('broken.csv', broken.join('\n'))], { env });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `fxpipe: ${path.join(dir, 'broken.csv')} line 8: rate "0.9x" is not a positive decimal number; nothing was checked or stored\n`,
    );
    const missing = await runCli(['verify', '--file', path.join(dir, 'absent.csv')], { env });
    expect(missing).toMatchObject({
      code: 2,
      stderr: `fxpipe: ${path.join(dir, 'absent.csv')}: cannot read it (ENOENT); nothing was checked or stored\n`,
    });
    const tolerance = await runCli(['verify', '--file', file('t.csv', csv(rows)), '--tolerance', '-1'], { env });
    expect(tolerance).toMatchObject({ code: 2, stderr: 'fxpipe: --tolerance "-1": expected a percentage ≥ 0, e.g. 0.5\n' });
    expect(await stored()).toBe(before);
  });
});
