import { existsSync, mkdtempSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finished, startCli } from '../helpers/cli.js';
import { archiveFixture, fullRows, invariantAnswers, partitionCounts, pauseOnManifest, S3_BUCKET, startS3rver } from './support.js';

describe('fxpipe archive / query / restore on S3 (s3rver on 127.0.0.1)', () => {
  const f = archiveFixture('fxpipe-tiers-s3-');
  let s3: Awaited<ReturnType<typeof startS3rver>>;
  const dest = `s3://${S3_BUCKET}/warehouse/fx`;

  beforeAll(async () => {
    s3 = await startS3rver(mkdtempSync(path.join(f.dir, 's3rver-')));
  });
  afterAll(async () => {
    await s3?.stop();
  });

  it('a kill between upload and drop, then a rerun, archives every old month once; query and restore read S3', async () => {
    const old = f.oldMonths();
    const pause = await pauseOnManifest(f.w.database.url, 'before update', `new.state = 'archived'`);
    try {
      const child = startCli(['archive', '--older-than', '90d', '--to', dest, '--json'], { env: { ...f.w.env, ...s3.env } });
      const backend = await pause.waitForPause();
      child.kill('SIGKILL');
      await finished(child);
      await pause.terminate(backend);
    } finally {
      await pause.remove();
    }
    const [interrupted] = await f.w.db.query<{ month: string; state: string; uri: string }>(
      `select to_char(month, 'YYYY-MM') as month, state, uri from archive_manifest`,
    );
    expect(interrupted).toEqual({
      month: old[0],
      state: 'verified',
      uri: `${dest}/fact_rates_history/year=${old[0]!.slice(0, 4)}/month=${old[0]!.slice(5)}/part-0.parquet`,
    });
    expect((await partitionCounts(f.w.db)).get(old[0]!)).toBe(f.before.counts.get(old[0]!));

    const rerun = await f.w.cli(['archive', '--older-than', '90d', '--to', dest, '--json'], s3.env);
    expect(rerun.stderr).toBe('');
    expect(rerun.code).toBe(0);
    const { months } = JSON.parse(rerun.stdout) as { months: { month: string; rows: number; outcome: string; resumed: boolean }[] };
    expect(months.map((m) => [m.month, m.rows, m.outcome])).toEqual(old.map((month) => [month, f.before.counts.get(month), 'archived']));
    expect(months[0]?.resumed).toBe(true);
    const manifest = await f.w.db.query<{ month: string; rows: string; state: string }>(
      `select to_char(month, 'YYYY-MM') as month, rows, state from archive_manifest order by month`,
    );
    expect(manifest.map((m) => [m.month, Number(m.rows), m.state])).toEqual(
      old.map((month) => [month, f.before.counts.get(month), 'archived']),
    );

    // The query downloads each archived month once into FXPIPE_HOME/cache, then answers as before archiving.
    expect(await invariantAnswers((args) => f.w.cli(args, s3.env))).toEqual(f.before.answers);
    expect(existsSync(path.join(f.w.home, 'cache', 'fact_rates_history', `year=${old[0]!.slice(0, 4)}`, `month=${old[0]!.slice(5)}`))).toBe(
      true,
    );

    const month = old[3]!;
    const restored = await f.w.cli(['restore', month, '--json'], s3.env);
    expect(restored.stderr).toBe('');
    expect(restored.code).toBe(0);
    expect(JSON.parse(restored.stdout)).toMatchObject({ month, outcome: 'restored', inserted: f.before.counts.get(month) });
    const key = month.replace('-', '');
    expect(await fullRows(f.w.db, `h.date_key / 100 = $1`, [Number(key)])).toEqual(f.before.rows.filter((line) => line.startsWith(key)));
  });
});
