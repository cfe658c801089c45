import { rmSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdviseReport, Decision } from '../../src/advise/types.js';
import { runDemo } from '../../src/demo/run-demo.js';
import { createLogger } from '../../src/log.js';
import type { SessionDb } from '../../src/warehouse/db.js';
import { initWarehouse } from '../../src/warehouse/init.js';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, scratchDir, type TestDatabase } from '../helpers/database.js';
import { loadedWarehouse, type Warehouse } from '../tiers/support.js';

const DAY_MS = 86_400_000;

async function adviseJson(
  url: string,
  env: Record<string, string> = {},
  args: string[] = [],
): Promise<AdviseReport & { database: string }> {
  const result = await runCli(['advise', '--json', '--samples', '20', ...args], { env: { DATABASE_URL: url, ...env }, timeoutMs: 120_000 });
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as AdviseReport & { database: string };
}

const decision = (report: AdviseReport, option: Decision['option']) => report.decisions.find((d) => d.option === option)!;

describe('fxpipe advise: a fresh 30-day demo against a 5-year backfill', () => {
  let dir: string;
  let demo: TestDatabase;
  let demoDb: SessionDb;
  let backfill: Warehouse;
  let demoReport: AdviseReport;
  let backfillReport: AdviseReport;

  beforeAll(async () => {
    dir = scratchDir('fxpipe-advise-');
    demo = await createTestDatabase();
    demoDb = await demo.open();
    await initWarehouse(demoDb);
    await runDemo(demoDb, { days: 30, seed: 42, end: new Date(), log: createLogger('silent') });
    backfill = await loadedWarehouse(dir);
    demoReport = await adviseJson(demo.url);
    backfillReport = await adviseJson(backfill.database.url);
  }, 300_000);

  afterAll(async () => {
    await demo?.drop();
    await backfill?.database.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('gives different verdicts, each traceable to the figure it prints', () => {
    expect(demoReport.decisions.map((d) => d.option)).toEqual([
      'Kafka',
      'TimescaleDB',
      'ClickHouse',
      'Parquet archive + DuckDB',
      'Connection pooling',
    ]);
    expect(demoReport.decisions.map((d) => d.verdict)).not.toEqual(backfillReport.decisions.map((d) => d.verdict));

    // The demo's history is a month old: nothing to archive.
    const demoParquet = decision(demoReport, 'Parquet archive + DuckDB');
    expect(demoReport.hotTier.oldestMonthAgeDays).toBeLessThan(90);
    expect(demoParquet).toMatchObject({ verdict: 'not needed', command: null, threshold: '90 days' });
    expect(demoParquet.measured).toBe(
      `oldest hot month ${demoReport.hotTier.oldestMonth}, ended ${demoReport.hotTier.oldestMonthAgeDays} days ago`,
    );

    // The backfill's oldest month is January 2022: archive, with the command to run.
    const backfillParquet = decision(backfillReport, 'Parquet archive + DuckDB');
    expect(backfillReport.hotTier.oldestMonth).toBe('2022-01');
    expect(backfillParquet).toMatchObject({ verdict: 'recommended', command: 'fxpipe archive --older-than 90d' });
    expect(backfillParquet.measured).toBe(`oldest hot month 2022-01, ended ${backfillReport.hotTier.oldestMonthAgeDays} days ago`);
    expect(backfillParquet.why).toContain(`${backfillReport.hotTier.beyondHotDays.months} month(s)`);

    // Neither needs a stream, a column store, TimescaleDB or a pool at these sizes.
    for (const report of [demoReport, backfillReport]) {
      for (const option of ['Kafka', 'TimescaleDB', 'ClickHouse', 'Connection pooling'] as const)
        expect(decision(report, option).verdict).toBe('not needed');
    }
    expect(decision(demoReport, 'Kafka').measured).toMatch(/^0\.0\d+ observations\/s \(6 runs\/day\)$/);
    expect(decision(backfillReport, 'Kafka').measured).toBe('0 runs in 30 days: no rate yet');
  });

  it("measures the demo's write rate from pipeline_runs", async () => {
    const [row] = await demoDb.query<{ runs: number; span_s: number; extracted: number; loaded: number }>(
      `select count(*)::int as runs, extract(epoch from max(started_at) - min(started_at))::float8 as span_s,
              (sum(extracted_count) - (array_agg(extracted_count order by started_at))[1])::int as extracted,
              (sum(loaded_count) - (array_agg(loaded_count order by started_at))[1])::int as loaded
         from pipeline_runs where status in ('loaded', 'unchanged')`,
    );
    const w = demoReport.writes;
    expect(w.runs).toBe(180);
    expect(w.runs).toBe(row!.runs);
    expect(w.runsPerDay).toBeCloseTo(6, 9);
    expect(w.observationsPerSecond).toBeCloseTo(row!.extracted / row!.span_s, 12);
    expect(w.rowsPerSecond).toBeCloseTo(row!.loaded / row!.span_s, 12);
    expect(w.backfill).toEqual({ runs: 0, rows: 0 });

    const [backfillRun] = await backfill.db.query<{ loaded: number }>(
      `select loaded_count as loaded from pipeline_runs where kind = 'backfill'`,
    );
    expect(backfillReport.writes).toMatchObject({
      runs: 0,
      runsPerDay: null,
      observationsPerSecond: null,
      backfill: { runs: 1, rows: backfillRun!.loaded },
    });
  });

  it('counts history per month, hot and archived, and projects the thresholds at the measured growth', async () => {
    for (const [report, db] of [
      [demoReport, demoDb],
      [backfillReport, backfill.db],
    ] as const) {
      const months = await db.query<{ month: string; n: number }>(
        `select to_char(make_date(date_key / 10000, date_key / 100 % 100, 1), 'YYYY-MM') as month, count(*)::int as n from fact_rates_history group by 1 order by 1`,
      );
      expect(report.history.byMonth).toEqual(months.map((m) => ({ month: m.month, hotRows: m.n, archivedRows: 0 })));
      const total = months.reduce((sum, m) => sum + m.n, 0);
      expect(report.history.totalRows).toBe(total);
      expect(report.tables.find((t) => t.name === 'fact_rates_history')?.rows).toBe(total);

      const since = new Date(Date.parse(report.generatedAt) - 30 * DAY_MS);
      const [recent] = await db.query<{ n: number; oldest: Date }>(
        `select count(*)::int as n, min(rate_timestamp) as oldest from fact_rates_history where rate_timestamp > $1 and rate_timestamp <= $2`,
        [since, new Date(report.generatedAt)],
      );
      const days = Math.max(1, (Date.parse(report.generatedAt) - recent!.oldest.getTime()) / DAY_MS);
      expect(report.history.rowsPerMonth).toBeCloseTo((recent!.n / days) * 30.44, 6);
      const timescale = report.history.crossings.find((c) => c.what === 'TimescaleDB')!;
      expect(timescale.monthsAway).toBeCloseTo((10_000_000 - total) / report.history.rowsPerMonth, 6);
    }
    // Both grow, at different rates: the demo by 4-hourly runs of ~160 currencies, the ECB file by ~30 a business day.
    expect(demoReport.history.rowsPerMonth).not.toBeCloseTo(backfillReport.history.rowsPerMonth, 0);
  });

  it('reports the view refresh every loading run recorded, and samples the api queries now', async () => {
    const refreshes = await demoDb.query<{ refresh: number }>(
      `select (stage_ms->>'refresh')::float8 as refresh from pipeline_runs where status = 'loaded' and (stage_ms->>'refresh')::float8 > 0 order by started_at desc limit 20`,
    );
    expect(demoReport.viewRefresh.runs).toBe(refreshes.length);
    expect(demoReport.viewRefresh.latestMs).toBe(refreshes[0]!.refresh);
    expect(demoReport.viewRefresh.maxMs).toBe(Math.max(...refreshes.map((r) => r.refresh)));
    // The read models are rebuilt per source loaded, for the days its publication touched.
    const latestSources = await demoDb.query<{ source: string }>(
      `select distinct s.source_name as source from pipeline_runs r, jsonb_object_keys(r.stage_ms->'views') as k(source)
         join dim_source s on s.source_name = k.source
        where r.run_id = (select run_id from pipeline_runs where status = 'loaded' and (stage_ms->>'refresh')::float8 > 0
                          order by started_at desc limit 1)`,
    );
    expect(latestSources.length).toBeGreaterThan(0);
    expect(demoReport.viewRefresh.latestByView.map((v) => v.view).sort()).toEqual(latestSources.map((s) => s.source).sort());
    expect(decision(demoReport, 'TimescaleDB').measured).toContain(`median refresh`);

    for (const report of [demoReport, backfillReport]) {
      expect(report.apiQueries).toHaveLength(5);
      for (const q of report.apiQueries) {
        expect(q.samples + q.errors).toBe(20);
        expect(q.samples).toBeGreaterThan(0);
        expect(q.p50Ms).toBeGreaterThan(0);
        expect(q.p99Ms!).toBeGreaterThanOrEqual(q.p50Ms!);
      }
    }
  });

  it('takes its thresholds from settings: a lower row threshold recommends TimescaleDB, a longer hot tier drops the archive advice', async () => {
    const rows = backfillReport.history.totalRows;
    const report = await adviseJson(backfill.database.url, {
      FXPIPE_ADVISE_TIMESCALE_ROWS: String(rows - 1),
      FXPIPE_ADVISE_HOT_DAYS: '3650',
    });
    expect(report.thresholds).toMatchObject({ timescaleRows: rows - 1, hotDays: 3650 });
    expect(decision(report, 'TimescaleDB')).toMatchObject({
      verdict: 'recommended',
      threshold: `${(rows - 1).toLocaleString('en-US')} rows or 60 s refresh`,
    });
    expect(decision(report, 'Parquet archive + DuckDB')).toMatchObject({ verdict: 'not needed', command: null });

    const bad = await runCli(['advise'], { env: { DATABASE_URL: backfill.database.url, FXPIPE_ADVISE_HOT_DAYS: 'soon' } });
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n')).toEqual([
      'fxpipe: invalid setting FXPIPE_ADVISE_HOT_DAYS: "soon" expected number of days between 1 and 36500',
    ]);
  });

  it('counts concurrent client connections for the pooling verdict', async () => {
    const clients = await Promise.all(
      [1, 2, 3].map(async () => {
        const client = new pg.Client({ connectionString: backfill.database.url });
        await client.connect();
        return client;
      }),
    );
    try {
      const report = await adviseJson(backfill.database.url, { FXPIPE_ADVISE_POOL_CONNECTIONS: '3' });
      expect(report.connections.clients).toBeGreaterThanOrEqual(3);
      expect(decision(report, 'Connection pooling')).toMatchObject({ verdict: 'recommended', command: 'export FXPIPE_DRIVER=pooled' });
      expect(decision(report, 'Connection pooling').measured).toBe(
        `${report.connections.clients} client connections (${report.connections.active} active)`,
      );
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  });

  it('after archiving, counts the archived months and no longer recommends it', async () => {
    const archived = await backfill.cli(['archive', '--older-than', '90d', '--json']);
    expect(archived.stderr).toBe('');
    expect(archived.code).toBe(0);
    const report = await adviseJson(backfill.database.url);
    const [manifest] = await backfill.db.query<{ months: number; rows: number; bytes: number }>(
      `select count(*)::int as months, sum(rows)::int as rows, sum(bytes)::int as bytes from archive_manifest where state = 'archived'`,
    );
    expect(report.archive).toMatchObject({ months: manifest!.months, rows: manifest!.rows, bytes: manifest!.bytes });
    expect(report.history.archivedRows).toBe(manifest!.rows);
    expect(report.history.totalRows).toBe(backfillReport.history.totalRows);
    expect(report.hotTier.beyondHotDays).toEqual({ months: 0, rows: 0, bytes: 0 });
    expect(decision(report, 'Parquet archive + DuckDB').verdict).not.toBe('recommended');
  });

  it('prints the decision table for people, and one-line errors', async () => {
    const human = await runCli(['advise', '--samples', '5'], { env: { DATABASE_URL: demo.url } });
    expect(human.code).toBe(0);
    expect(human.stderr).toBe('');
    expect(human.stdout).toMatch(/^\s+option\s+measured\s+threshold\s+verdict\s+why\s+command$/m);
    for (const d of demoReport.decisions)
      expect(human.stdout).toMatch(new RegExp(`^  ${d.option.replace(/[+]/g, '\\+')}\\s+.*\\s+${d.verdict}\\s+`, 'm'));
    expect(human.stdout).toContain('api queries   latest rate (api.latest_rates): p50 ');

    const window = await runCli(['advise', '--window', '0'], { env: { DATABASE_URL: demo.url } });
    expect(window.code).toBe(2);
    expect(window.stderr).toBe('fxpipe: invalid --window "0": expected a whole number from 1 to 3650\n');

    const empty = await createTestDatabase('fxtest', { empty: true });
    try {
      const none = await runCli(['advise'], { env: { DATABASE_URL: empty.url } });
      expect(none.code).toBe(2);
      expect(none.stderr).toBe('fxpipe: the warehouse has no schema yet (or an old one): run `fxpipe db init` first\n');
    } finally {
      await empty.drop();
    }
  });
});
