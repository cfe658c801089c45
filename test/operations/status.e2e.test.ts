import { afterEach, describe, expect, it } from 'vitest';
import { createMarket } from '../../src/demo/market.js';
import { faults, startProviderServer, type ProviderServer } from '../../src/demo/provider-server.js';
import { freshnessOf } from '../../src/warehouse/freshness.js';
import { initWarehouse } from '../../src/warehouse/init.js';
import { warehouseStatus } from '../../src/warehouse/status.js';
import type { Db } from '../../src/warehouse/db.js';
import { runCli } from '../helpers/cli.js';
import { type StatusJson } from '../helpers/cli-json.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { count, harness, TEST_API_KEY, type Harness } from '../helpers/pipeline.js';
import { matcher } from '../helpers/matcher.js';

const SOURCES = ['open-er-api', 'frankfurter'] as const;
const BAD_VALUES = '"rates":{"AAA":"abc","BBB":1e999,"CCC":0,"DDD":-1.5,"EU":1,';

/** The table migration 0006_scheduler.sql defines; created here only when that migration is not there yet. */
async function ensureSchedulerTable(db: Db): Promise<void> {
  await db.query(`create table if not exists scheduler_instances (instance_id uuid primary key, hostname text, pid int, cron text,
                    timezone text, started_at timestamptz, last_seen_at timestamptz, next_run_at timestamptz)`);
}

async function addScheduler(db: Db, lastSeenSecondsAgo: number, nextRunAt: string): Promise<void> {
  await db.query(
    `insert into scheduler_instances (instance_id, hostname, pid, cron, timezone, started_at, last_seen_at, next_run_at)
     values (gen_random_uuid(), 'worker-1', 4242, '0 */4 * * *', 'UTC', now() - interval '1 day', now() - make_interval(secs => $1), $2)`,
    [lastSeenSecondsAgo, nextRunAt],
  );
}

async function badPayload(h: Harness): Promise<string> {
  const good = await (await fetch(`${h.server.baseUrls['open-er-api']}/v6/latest/USD`)).text();
  return good.replace('"rates":{', BAD_VALUES);
}

describe('freshness rules', () => {
  const at = (iso: string) => new Date(iso);

  it('daily sources: ok up to 26 h, late up to 50 h, stale beyond', () => {
    const asOf = at('2024-01-09T00:02:31Z');
    const state = (hours: number) => freshnessOf('open-er-api', asOf, new Date(asOf.getTime() + hours * 3_600_000)).state;
    expect([state(1), state(26), state(26.2), state(50), state(50.2)]).toEqual(['ok', 'ok', 'late', 'late', 'stale']);
    expect(freshnessOf('exchangerate-api', null, asOf)).toMatchObject({ state: 'no_data', asOf: null, ageHours: null });
  });

  it("ECB business-day sources: Friday's fix stays ok over the weekend until Monday's is due", () => {
    const friday = at('2024-01-12T15:00:00Z'); // 16:00 CET
    const state = (now: string) => freshnessOf('frankfurter', friday, at(now));
    expect(state('2024-01-13T12:00:00Z')).toMatchObject({ state: 'ok', expectedDay: '2024-01-12' });
    expect(state('2024-01-15T15:30:00Z')).toMatchObject({ state: 'ok', expectedDay: '2024-01-12' }); // published, within the hour's grace
    expect(state('2024-01-15T16:30:00Z')).toMatchObject({ state: 'late', expectedDay: '2024-01-15' });
    expect(state('2024-01-16T16:30:00Z')).toMatchObject({ state: 'stale', expectedDay: '2024-01-16' });
    // A TARGET holiday publishes nothing: Thursday's fix is still current on Good Friday and Easter Monday 2024.
    expect(freshnessOf('ecb', at('2024-03-28T15:00:00Z'), at('2024-04-01T20:00:00Z')).state).toBe('ok');
  });
});

describe('warehouse status', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  it('freshness goes ok → late → stale on the simulated clock', async () => {
    h = await harness('2024-01-09T12:00:00Z');
    await h.run();
    const freshness = async (iso: string) =>
      (await warehouseStatus(h.db, { sources: [...SOURCES], now: new Date(iso) })).freshness.map((f) => [f.source, f.state]);
    expect(await freshness('2024-01-09T12:00:00Z')).toEqual([
      ['open-er-api', 'ok'],
      ['frankfurter', 'ok'],
    ]);
    expect(await freshness('2024-01-09T16:30:00Z')).toEqual([
      ['open-er-api', 'ok'],
      ['frankfurter', 'late'],
    ]);
    expect(await freshness('2024-01-10T03:00:00Z')).toEqual([
      ['open-er-api', 'late'],
      ['frankfurter', 'late'],
    ]);
    expect(await freshness('2024-01-11T03:00:00Z')).toEqual([
      ['open-er-api', 'stale'],
      ['frankfurter', 'stale'],
    ]);
    const [first] = (await warehouseStatus(h.db, { sources: ['ecb'], now: h.clock.now() })).freshness;
    expect(first).toMatchObject({ source: 'ecb', configured: true, state: 'no_data' });
  });

  it('reports the last runs, exact rows and bytes per table and partition, and rejects of the last 24 hours', async () => {
    h = await harness('2024-01-09T12:00:00Z');
    const first = await h.run();
    h.clock.advanceHours(24);
    h.server.injectFault('open-er-api', faults.body(await badPayload(h)));
    const second = await h.run();
    h.clock.advanceHours(1);
    const third = await h.run();
    const status = await warehouseStatus(h.db, { sources: [...SOURCES], now: h.clock.now(), runs: 2 });

    expect(status.runs.map((r) => [r.runId, r.status])).toEqual([
      [third.runId, 'unchanged'],
      [second.runId, 'loaded'],
    ]);
    expect(status.runs[1]).toEqual({
      runId: second.runId,
      kind: 'manual',
      startedAt: second.startedAt,
      finishedAt: second.finishedAt,
      status: 'loaded',
      sourceUsed: 'open-er-api',
      failover: false,
      counts: second.counts,
      error: null,
    });
    expect((await warehouseStatus(h.db, { sources: [...SOURCES], now: h.clock.now() })).runs.map((r) => r.runId)).toEqual([
      third.runId,
      second.runId,
      first.runId,
    ]);

    const table = (name: string) => status.tables.find((t) => t.name === name);
    expect(table('fact_rates_history')).toMatchObject({
      kind: 'partitioned_table',
      rows: await count(h.db, 'select * from fact_rates_history'),
    });
    expect(table('fact_rates_history')!.bytes).toBeGreaterThan(0);
    expect(table('bronze_extraction')).toMatchObject({ kind: 'table', rows: await count(h.db, 'select * from bronze_extraction') });
    expect(table('rates_daily')).toMatchObject({ kind: 'table', rows: await count(h.db, 'select * from rates_daily') });
    expect(table('rates_daily')!.rows).toBeGreaterThan(0);
    expect(status.tables.some((t) => t.name.startsWith('fact_rates_history_'))).toBe(false);

    const january = status.partitions.find((p) => p.name === 'fact_rates_history_y2024m01');
    expect(january).toMatchObject({
      from: '2024-01-01',
      to: '2024-02-01',
      rows: await count(h.db, 'select * from fact_rates_history_y2024m01'),
    });
    expect(january!.rows).toBeGreaterThan(150);
    expect(january!.bytes).toBeGreaterThan(0);
    expect(status.partitions.at(-1)).toMatchObject({ name: 'fact_rates_history_default', from: null, to: null, rows: 0 });
    expect(status.partitions.reduce((sum, p) => sum + p.rows, 0)).toBe(table('fact_rates_history')!.rows);

    expect(status.rejectedLast24h).toEqual({
      since: new Date(h.clock.current.getTime() - 24 * 3_600_000).toISOString(),
      total: 5,
      byReason: [
        { reason: 'non_positive', count: 2 },
        { reason: 'bad_code', count: 1 },
        { reason: 'not_a_number', count: 1 },
        { reason: 'not_finite', count: 1 },
      ],
    });
    h.clock.advanceHours(24);
    expect((await warehouseStatus(h.db, { sources: [...SOURCES], now: h.clock.now() })).rejectedLast24h.total).toBe(0);
  });

  it('shows the next scheduled run only while a scheduler heartbeat is younger than 2 minutes', async () => {
    h = await harness();
    await ensureSchedulerTable(h.db);
    const status = () => warehouseStatus(h.db, { sources: [...SOURCES] });
    expect((await status()).scheduler).toBeNull();
    await addScheduler(h.db, 300, '2030-01-01T04:00:00Z');
    expect((await status()).scheduler).toBeNull();
    await addScheduler(h.db, 30, '2030-01-01T08:00:00Z');
    expect((await status()).scheduler).toMatchObject({
      hostname: 'worker-1',
      pid: 4242,
      cron: '0 */4 * * *',
      timezone: 'UTC',
      nextRunAt: '2030-01-01T08:00:00.000Z',
    });
  });
});

describe('fxpipe status, from the CLI', () => {
  let database: TestDatabase;
  let server: ProviderServer;
  let env: Record<string, string>;
  afterEach(async () => {
    await server?.close();
    await database?.drop();
  });

  it('prints compact sections, or one JSON object, without the database password', async () => {
    database = await createTestDatabase();
    const db = await database.open();
    await initWarehouse(db);
    await ensureSchedulerTable(db);
    // The real clock, so the CLI sees fresh rates.
    server = await startProviderServer({
      market: createMarket({ seed: 3, start: new Date('2026-01-01T00:00:00Z') }),
      clock: () => new Date(),
      apiKey: TEST_API_KEY,
    });
    env = { ...server.env, DATABASE_URL: database.url, FXPIPE_HTTP_RETRIES: '1' };
    expect((await runCli(['run'], { env })).code).toBe(0);
    const good = await (await fetch(`${server.baseUrls['open-er-api']}/v6/latest/USD`)).text();
    server.injectFault('open-er-api', faults.body(good.replace('"rates":{', BAD_VALUES)));
    expect((await runCli(['run'], { env })).code).toBe(0);
    await addScheduler(db, 10, '2031-05-06T08:00:00Z');

    const human = await runCli(['status'], { env });
    expect(human.stderr).toBe('');
    expect(human.code).toBe(0);
    const text = human.stdout;
    expect(text).toMatch(/^fxpipe status of .*\(DATABASE_URL\) at \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z\n/);
    expect(text).toMatch(
      /\nRuns \(last 2\)\n\s+started\s+finished\s+kind\s+status\s+source\s+failover\s+extracted\s+loaded\s+unchanged\s+rejected\s+error\n/,
    );
    expect(text).toMatch(
      /\n\s+\d{4}-\d{2}-\d{2} [\d:]+Z\s+\d{4}-\d{2}-\d{2} [\d:]+Z\s+manual\s+(loaded|unchanged)\s+open-er-api\s+no\s+\d+\s+\d+\s+\d+\s+5\n/,
    );
    expect(text).toMatch(/\n\s+open-er-api\s+daily\s+\S+ \S+\s+[\d.]+ h\s+-\s+ok\n/);
    expect(text).toMatch(/\n\s+frankfurter\s+ecb_business_day\s+\S+ \S+\s+[\d.]+ h\s+\d{4}-\d{2}-\d{2}\s+ok\n/);
    expect(text).toMatch(/\n\s+fact_rates_history\s+partitioned table\s+\d+\s+[\d.]+ (B|KiB|MiB)\n/);
    expect(text).toMatch(/\nHistory partitions \(exact row counts\)\n/);
    expect(text).toMatch(/\n\s+fact_rates_history_default\s+default\s+0\s+[\d.]+ (B|KiB)\n/);
    expect(text).toContain('\nRejected in the last 24 h: 5 (non_positive 2, bad_code 1, not_a_number 1, not_finite 1)\n');
    expect(text).toMatch(
      /\nScheduler: alive on worker-1 \(pid 4242\), "0 \*\/4 \* \* \*" UTC, last seen .*; next run 2031-05-06 08:00:00Z\n/,
    );
    expect(text).toContain('\nSettings: max_rate_age 7 days, consensus_tolerance_pct 1 % (`fxpipe db settings` changes them)\n');

    const json = await runCli(['status', '--json', '--runs', '1'], { env });
    expect(json.code).toBe(0);
    const status = JSON.parse(json.stdout) as StatusJson;
    expect(Object.keys(status)).toEqual([
      'database',
      'generatedAt',
      'runs',
      'freshness',
      'tables',
      'partitions',
      'rejectedLast24h',
      'scheduler',
      'alerts',
      'productionCheck',
      'settings',
    ]);
    expect(status.database).toMatch(/^127\.0\.0\.1:\d+\/fxtest_\w+ \(DATABASE_URL\)$/);
    expect(status.runs).toHaveLength(1);
    expect(Object.keys(status.runs[0]!)).toEqual([
      'runId',
      'kind',
      'startedAt',
      'finishedAt',
      'status',
      'sourceUsed',
      'failover',
      'counts',
      'error',
    ]);
    expect(Object.keys(status.freshness[0]!)).toEqual(['source', 'configured', 'cadence', 'asOf', 'ageHours', 'expectedDay', 'state']);
    expect(status.freshness.map((f) => f.state)).toEqual(['ok', 'ok']);
    expect(status.rejectedLast24h.total).toBe(5);
    expect(status.scheduler).toMatchObject({ hostname: 'worker-1', nextRunAt: '2031-05-06T08:00:00.000Z' });
    expect(status.alerts).toEqual([]);
    expect(status.settings).toEqual({
      maxRateAge: '7 days',
      maxRateAgeMs: 7 * 86_400_000,
      consensusTolerancePct: 1,
      updatedAt: matcher.any(String),
    });

    await db.query(`update scheduler_instances set last_seen_at = now() - interval '3 minutes'`);
    const gone = await runCli(['status'], { env });
    expect(gone.stdout).toContain('\nScheduler: none alive (no heartbeat in the last 2 minutes)');
    expect(gone.stdout).not.toContain('next run');

    const password = new URL(database.url).password;
    for (const output of [human.stdout, json.stdout, gone.stdout]) expect(output).not.toContain(password);
  });

  it('a bad --runs is one line and exit 2; a database without the schema is one line and exit 2', async () => {
    database = await createTestDatabase('fxtest', { empty: true });
    server = await startProviderServer({
      market: createMarket({ seed: 3, start: new Date('2026-01-01T00:00:00Z') }),
      clock: () => new Date(),
    });
    const bad = await runCli(['status', '--runs', '0'], { env: { DATABASE_URL: database.url } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('fxpipe: invalid --runs "0": expected a whole number from 1 to 1000\n');
    const empty = await runCli(['status'], { env: { DATABASE_URL: database.url } });
    expect(empty.code).toBe(2);
    expect(empty.stderr).toBe('fxpipe: the warehouse has no schema yet: run `fxpipe db init` or `fxpipe run` first\n');
  });
});
