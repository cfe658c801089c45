import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { archiveFixture, fullRows, invariantAnswers, partitionCounts } from './support.js';

interface MonthJson {
  month: string;
  partition: string;
  rows: number;
  bytes: number | null;
  uri: string | null;
  outcome: string;
  resumed: boolean;
}

describe('fxpipe archive / restore on a local directory', () => {
  const f = archiveFixture('fxpipe-tiers-');

  it('--dry-run lists the months older than the cutoff and changes nothing', async () => {
    const result = await f.w.cli(['archive', '--older-than', '90d', '--dry-run', '--json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout) as { months: MonthJson[]; dryRun: boolean; cutoff: string };
    expect(json).toMatchObject({ dryRun: true, cutoff: f.cutoff });
    expect(json.months.map((m) => [m.month, m.rows, m.outcome])).toEqual(
      f.oldMonths().map((month) => [month, f.before.counts.get(month), 'would_archive']),
    );
    expect(await partitionCounts(f.w.db)).toEqual(f.before.counts);
    expect(await f.w.db.query('select * from archive_manifest')).toEqual([]);
  });

  it('rejects a malformed --older-than (exit 2, one line)', async () => {
    const result = await f.w.cli(['archive', '--older-than', '90 days']);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^fxpipe: invalid --older-than "90 days": expected/)]);
  });

  it('archives every old month to Parquet, verified, and drops its partition; queries answer the same', async () => {
    const result = await f.w.cli(['archive', '--older-than', '90d', '--json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout) as { months: MonthJson[]; rowsArchived: number };
    const old = f.oldMonths();
    expect(old.length).toBeGreaterThan(40);
    expect(json.months.map((m) => [m.month, m.rows, m.outcome])).toEqual(
      old.map((month) => [month, f.before.counts.get(month), 'archived']),
    );
    expect(json.rowsArchived).toBe(old.reduce((n, month) => n + f.before.counts.get(month)!, 0));

    // PostgreSQL keeps the recent months only, untouched.
    const after = await partitionCounts(f.w.db);
    expect([...after.keys()]).toEqual([...f.before.counts.keys()].filter((month) => !old.includes(month)));
    for (const [month, rows] of after) expect(rows).toBe(f.before.counts.get(month));
    expect(after.size).toBeGreaterThan(3);
    expect([...after.values()].some((rows) => rows > 0)).toBe(true);

    // The manifest lists every archived month with its partition's count, and the files are in the Hive layout.
    const manifest = await f.w.db.query<{ month: string; partition_name: string; rows: string; state: string; uri: string; bytes: string }>(
      `select to_char(month, 'YYYY-MM') as month, partition_name, rows, state, uri, bytes from archive_manifest order by month`,
    );
    expect(manifest.map((m) => [m.month, Number(m.rows), m.state])).toEqual(
      old.map((month) => [month, f.before.counts.get(month), 'archived']),
    );
    for (const m of manifest) {
      const file = path.join(
        f.w.home,
        'archive',
        'fact_rates_history',
        `year=${m.month.slice(0, 4)}`,
        `month=${m.month.slice(5)}`,
        'part-0.parquet',
      );
      expect(m.uri).toBe(`file://${file}`);
      expect(existsSync(file)).toBe(true);
      expect(m.partition_name).toBe(`fact_rates_history_y${m.month.slice(0, 4)}m${m.month.slice(5)}`);
    }

    expect(await invariantAnswers(f.w.cli)).toEqual(f.before.answers);
    const tiers = await f.w.cli(['query', 'select tier, count(*) as n from rates_history group by tier order by tier', '--format', 'csv']);
    expect(tiers.stdout).toBe(`tier,n\ncold,${json.rowsArchived}\nhot,${f.before.rows.length - json.rowsArchived}\n`);

    const again = await f.w.cli(['archive', '--older-than', '90d', '--json']);
    expect(again.code).toBe(0);
    expect((JSON.parse(again.stdout) as { months: MonthJson[] }).months).toEqual([]);
  });

  it('restore brings a month back identical, idempotently; a restored month can be archived again', async () => {
    const month = '2023-05';
    const inMonth = ['h.date_key between $1 and $2', [20230501, 20230531]] as const;
    const restored = await f.w.cli(['restore', month, '--json']);
    expect(restored.stderr).toBe('');
    expect(restored.code).toBe(0);
    expect(JSON.parse(restored.stdout)).toMatchObject({
      month,
      outcome: 'restored',
      rows: f.before.counts.get(month),
      inserted: f.before.counts.get(month),
    });
    const original = f.before.rows.filter((line) => line.startsWith('202305'));
    expect(original.length).toBe(f.before.counts.get(month));
    expect(await fullRows(f.w.db, ...inMonth)).toEqual(original);
    const [entry] = await f.w.db.query(`select state, restored_at is not null as stamped from archive_manifest where month = '2023-05-01'`);
    expect(entry).toEqual({ state: 'restored', stamped: true });
    expect(await invariantAnswers(f.w.cli)).toEqual(f.before.answers);

    const twice = await f.w.cli(['restore', month, '--json']);
    expect(twice.code).toBe(0);
    expect(JSON.parse(twice.stdout)).toMatchObject({ outcome: 'already_hot', inserted: 0 });
    expect(await fullRows(f.w.db, ...inMonth)).toEqual(original);

    const rearchived = await f.w.cli(['archive', '--older-than', '90d', '--json']);
    expect(rearchived.code).toBe(0);
    expect((JSON.parse(rearchived.stdout) as { months: MonthJson[] }).months.map((m) => [m.month, m.outcome])).toEqual([
      [month, 'archived'],
    ]);
    expect(await fullRows(f.w.db, ...inMonth)).toEqual([]);
    expect(await invariantAnswers(f.w.cli)).toEqual(f.before.answers);
  });

  it('restore of a month never archived is a usage error', async () => {
    const result = await f.w.cli(['restore', '2019-01']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^fxpipe: 2019-01 was never archived/);
    expect((await f.w.cli(['restore', '2019-13'])).code).toBe(2);
  });

  it('a backfill re-creating an archived month is reported as shadowed by archive and query; restore merges it', async () => {
    const month = '2022-02';
    const csv = path.join(f.w.home, 'history.csv');
    const reload = await f.w.cli([
      'backfill',
      '--source',
      'ecb-csv',
      '--file',
      csv,
      '--from',
      '2022-02-01',
      '--to',
      '2022-02-28',
      '--change-threshold',
      '0',
      '--json',
    ]);
    expect(reload.code).toBe(0);
    const shadowRows = (await partitionCounts(f.w.db)).get(month);
    expect(shadowRows).toBe(f.before.counts.get(month));

    const query = await f.w.cli(['query', 'select count(*) as n from rates_history', '--format', 'csv']);
    expect(query.code).toBe(0);
    expect(query.stdout).toBe(`n\n${f.before.rows.length}\n`);
    expect(query.stderr).toContain(`fxpipe: warning: ${month} is archived, yet PostgreSQL holds ${shadowRows} rows of it`);

    const archive = await f.w.cli(['archive', '--older-than', '90d', '--json']);
    expect(archive.code).toBe(0);
    expect((JSON.parse(archive.stdout) as { months: MonthJson[] }).months.map((m) => [m.month, m.outcome])).toEqual([[month, 'shadowed']]);
    expect(archive.stderr).toContain(`fxpipe: warning: ${month} is archived, yet fact_rates_history_y2022m02 exists again`);

    const restore = await f.w.cli(['restore', month, '--json']);
    expect(restore.stderr).toBe('');
    expect(restore.code).toBe(0);
    expect(JSON.parse(restore.stdout)).toMatchObject({ outcome: 'restored', inserted: 0 });
    const rearchive = await f.w.cli(['archive', '--older-than', '90d', '--json']);
    expect((JSON.parse(rearchive.stdout) as { months: MonthJson[] }).months.map((m) => [m.month, m.outcome])).toEqual([
      [month, 'archived'],
    ]);
    expect((await f.w.cli(['query', 'select count(*) as n from rates_history', '--format', 'csv'])).stdout).toBe(
      `n\n${f.before.rows.length}\n`,
    );
  });
});
