import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/warehouse/db.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { createTestDatabase, scratchDir, type TestDatabase } from '../helpers/database.js';
import { dailyWarehouse, fullRows, partitionCounts, pauseOnManifest } from './support.js';

/**
 * archive meets a month it cannot move exactly: that month stays in PostgreSQL with a one-line reason, the others
 * are archived and verified, the exit code is 1.
 */

interface MonthJson {
  month: string;
  rows: number;
  outcome: string;
  reason: string | null;
}

/** Out of DECIMAL(38,24): 30 integer digits; 35 decimals (DuckDB would round it). */
const HUGE = '120000000000000000000000000000';
const LONG = '0.12345678901234567890123456789012345';
const REASONS = {
  '2023-02': `rate ${HUGE} of USD/CHF from ecb at 2023-02-14T20:30:00.000Z does not fit the archive's DECIMAL(38,24) exactly (at most 14 integer digits and 24 decimals)`,
  '2023-03': `rate ${LONG} of USD/CHF from ecb at 2023-03-15T20:30:00.000Z does not fit the archive's DECIMAL(38,24) exactly (at most 14 integer digits and 24 decimals)`,
};

describe('fxpipe archive skips a month it cannot archive exactly and goes on', () => {
  const dir = scratchDir('fxpipe-skip-');
  let database: TestDatabase;
  let db: Db;
  let home: string;
  let cli: (args: string[]) => Promise<CliResult>;
  let counts: Map<string, number>;

  beforeAll(async () => {
    database = await createTestDatabase();
    const w = await dailyWarehouse(database, '2023-04-30');
    db = w.db;
    // One value each in February and March that DECIMAL(38,24) cannot hold exactly, inserted with SQL.
    for (const [day, rate] of [
      ['2023-02-14', HUGE],
      ['2023-03-15', LONG],
    ] as const) {
      await db.query(
        `insert into fact_rates_history (date_key, base_currency_id, quote_currency_id, source_id, rate_timestamp, rate)
         values ($1, $2, $3, $4, $5::timestamptz, $6::numeric)`,
        [Number(day.replaceAll('-', '')), w.ids.get('USD'), w.ids.get('CHF'), w.source, `${day}T20:30:00Z`, rate],
      );
    }
    counts = await partitionCounts(db);
    home = mkdtempSync(path.join(dir, 'home-'));
    cli = (args) => runCli(args, { env: { DATABASE_URL: database.url, FXPIPE_HOME: home, TMPDIR: home }, timeoutMs: 120_000 });
  }, 120_000);

  afterAll(async () => {
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('archives January and April, keeps February and March hot with their reasons, exit 1', async () => {
    const februaryRows = await fullRows(db, 'h.date_key between 20230201 and 20230228');
    const result = await cli(['archive', '--older-than', '90d', '--json']);
    expect(result.code).toBe(1);
    const json = JSON.parse(result.stdout) as { months: MonthJson[]; rowsArchived: number };
    expect(json.months.map((m) => [m.month, m.outcome])).toEqual([
      ['2023-01', 'archived'],
      ['2023-02', 'skipped'],
      ['2023-03', 'skipped'],
      ['2023-04', 'archived'],
    ]);
    expect(json.rowsArchived).toBe(counts.get('2023-01')! + counts.get('2023-04')!);
    const [, february, march] = json.months;
    expect(february!.reason).toBe(REASONS['2023-02']);
    expect(march!.reason).toBe(REASONS['2023-03']);
    expect(json.months.filter((m) => m.outcome === 'archived').map((m) => m.reason)).toEqual([null, null]);
    expect(result.stderr.trim().split('\n')).toEqual([
      `fxpipe: warning: 2023-02 skipped, its ${counts.get('2023-02')} rows stay in PostgreSQL: ${february!.reason}`,
      `fxpipe: warning: 2023-03 skipped, its ${counts.get('2023-03')} rows stay in PostgreSQL: ${march!.reason}`,
    ]);

    // The archived months are verified and gone from PostgreSQL; the skipped ones untouched, never uploaded.
    const manifest = await db.query<{ month: string; rows: string; state: string }>(
      `select to_char(month, 'YYYY-MM') as month, rows, state from archive_manifest order by month`,
    );
    expect(manifest.map((m) => [m.month, Number(m.rows), m.state])).toEqual([
      ['2023-01', counts.get('2023-01'), 'archived'],
      ['2023-04', counts.get('2023-04'), 'archived'],
    ]);
    expect(await partitionCounts(db)).toEqual(new Map([...counts].filter(([month]) => month !== '2023-01' && month !== '2023-04')));
    expect(await fullRows(db, 'h.date_key between 20230201 and 20230228')).toEqual(februaryRows);
  });

  it('the text output names the skipped months and their reasons; the log warns', async () => {
    const result = await runCli(['archive', '--older-than', '90d'], {
      env: { DATABASE_URL: database.url, FXPIPE_HOME: home, TMPDIR: home, FXPIPE_LOG_LEVEL: 'warn' },
    });
    expect(result.code).toBe(1);
    const warnings = result.stderr
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { msg: string; month: string; reason: string });
    expect(warnings.filter((w) => w.msg === 'month skipped: it stays in PostgreSQL').map((w) => [w.month, w.reason])).toEqual(
      Object.entries(REASONS),
    );
    expect(result.stdout).toContain(`2023-02: ${counts.get('2023-02')} rows skipped, kept in PostgreSQL: rate ${HUGE} of USD/CHF`);
    expect(result.stdout).toMatch(/^Archived 0 months ending before .*: 0 rows, .* 2 months skipped \(kept in PostgreSQL, see above\)\.$/m);
  });

  it('once the values are mended, the skipped months archive (exit 0)', async () => {
    await db.query(`update fact_rates_history set rate = 0.9 where rate in ($1::numeric, $2::numeric)`, [HUGE, LONG]);
    const result = await cli(['archive', '--older-than', '90d', '--json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect((JSON.parse(result.stdout) as { months: MonthJson[] }).months.map((m) => [m.month, m.outcome])).toEqual([
      ['2023-02', 'archived'],
      ['2023-03', 'archived'],
    ]);
  });

  it('a copy that fails verification skips its month; the next month still archives', async () => {
    // Two months hot again, then the first one's uploaded file is replaced before the archive reads it back.
    for (const month of ['2023-01', '2023-02']) expect((await cli(['restore', month])).code).toBe(0);
    const pause = await pauseOnManifest(database.url, 'before insert', `new.state = 'uploaded' and new.month = '2023-01-01'`);
    let result: CliResult;
    try {
      const archive = cli(['archive', '--older-than', '90d', '--json']);
      await pause.waitForPause();
      // As many bytes as were uploaded, so the size check passes and DuckDB has to read them.
      const file = path.join(home, 'archive', 'fact_rates_history', 'year=2023', 'month=01', 'part-0.parquet');
      writeFileSync(file, Buffer.alloc(statSync(file).size, 'x'));
      await pause.release();
      result = await archive;
    } finally {
      await pause.remove();
    }
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^fxpipe: warning: 2023-01 skipped, its \d+ rows stay in PostgreSQL: its copy failed verification/),
    ]);
    expect(result.code).toBe(1);
    const months = (JSON.parse(result.stdout) as { months: MonthJson[] }).months;
    expect(months.map((m) => [m.month, m.outcome])).toEqual([
      ['2023-01', 'skipped'],
      ['2023-02', 'archived'],
    ]);
    expect(months[0]!.reason).toMatch(
      /^its copy failed verification: file:\/\/.*part-0\.parquet cannot be read back \(.+\); the partition is kept$/,
    );
    expect((await partitionCounts(db)).get('2023-01')).toBe(counts.get('2023-01'));
    expect(await db.query(`select state from archive_manifest where month = '2023-01-01'`)).toEqual([{ state: 'uploaded' }]);

    const rerun = await cli(['archive', '--older-than', '90d', '--json']);
    expect(rerun.code).toBe(0);
    expect((JSON.parse(rerun.stdout) as { months: MonthJson[] }).months.map((m) => [m.month, m.outcome])).toEqual([
      ['2023-01', 'archived'],
    ]);
  });
});
