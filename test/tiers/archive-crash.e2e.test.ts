import { existsSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { finished, startCli } from '../helpers/cli.js';
import { archiveFixture, fullRows, invariantAnswers, partitionCounts, pauseOnManifest } from './support.js';

describe('fxpipe archive killed at any step, then rerun', () => {
  const f = archiveFixture('fxpipe-tiers-crash-');

  const fileOf = (month: string) =>
    path.join(f.w.home, 'archive', 'fact_rates_history', `year=${month.slice(0, 4)}`, `month=${month.slice(5)}`, 'part-0.parquet');
  const states = async () =>
    new Map(
      (await f.w.db.query<{ month: string; state: string }>(`select to_char(month, 'YYYY-MM') as month, state from archive_manifest`)).map(
        (r) => [r.month, r.state],
      ),
    );

  /** Every old month is exactly once somewhere: its whole partition in PostgreSQL, or archived (partition gone). */
  async function expectNothingLostOrDoubled(): Promise<void> {
    const partitions = await partitionCounts(f.w.db);
    const manifest = await states();
    for (const month of f.oldMonths()) {
      const hot = partitions.get(month);
      if (manifest.get(month) === 'archived') expect(hot, `${month} archived and hot`).toBeUndefined();
      else expect(hot, `${month} neither archived nor complete in PostgreSQL`).toBe(f.before.counts.get(month));
    }
  }

  /** Runs archive until the pause, kills it (SIGKILL) and ends its backend as a dropped connection would. */
  async function killAtPause(timing: 'before insert' | 'before update', when: string): Promise<void> {
    const pause = await pauseOnManifest(f.w.database.url, timing, when);
    try {
      const child = startCli(['archive', '--older-than', '90d', '--json'], { env: f.w.env });
      const backend = await pause.waitForPause();
      child.kill('SIGKILL');
      expect((await finished(child)).signal).toBe('SIGKILL');
      await pause.terminate(backend);
    } finally {
      await pause.remove();
    }
  }

  it('resumes after kills between upload and manifest, before verified, inside the drop transaction, and anywhere', async () => {
    const first = f.oldMonths()[0]!;

    await killAtPause('before insert', `new.state = 'uploaded'`);
    expect(existsSync(fileOf(first))).toBe(true); // uploaded, not recorded
    expect(await states()).toEqual(new Map());
    await expectNothingLostOrDoubled();

    await killAtPause('before update', `new.state = 'verified'`);
    expect(await states()).toEqual(new Map([[first, 'uploaded']]));
    await expectNothingLostOrDoubled();

    await killAtPause('before update', `new.state = 'archived'`);
    expect(await states()).toEqual(new Map([[first, 'verified']]));
    expect((await partitionCounts(f.w.db)).get(first)).toBe(f.before.counts.get(first)); // the drop rolled back
    await expectNothingLostOrDoubled();

    // A kill at whatever point the archive has reached once three more months are archived.
    const child = startCli(['archive', '--older-than', '90d', '--json'], { env: f.w.env });
    for (let i = 0; i < 2400 && [...(await states()).values()].filter((s) => s === 'archived').length < 3; i++) await sleep(25);
    child.kill('SIGKILL');
    await finished(child);
    for (let i = 0; i < 200; i++) {
      const { length } = await f.w.db.query(
        `select 1 from pg_stat_activity where datname = current_database() and application_name = 'fxpipe' and pid <> pg_backend_pid()`,
      );
      if (length === 0) break;
      await sleep(50);
    }
    await expectNothingLostOrDoubled();

    const rerun = await f.w.cli(['archive', '--older-than', '90d', '--json']);
    expect(rerun.stderr).toBe('');
    expect(rerun.code).toBe(0);
    expect(await states()).toEqual(new Map(f.oldMonths().map((month) => [month, 'archived'])));
    const manifest = await f.w.db.query<{ month: string; rows: string }>(
      `select to_char(month, 'YYYY-MM') as month, rows from archive_manifest order by month`,
    );
    expect(manifest.map((m) => [m.month, Number(m.rows)])).toEqual(f.oldMonths().map((month) => [month, f.before.counts.get(month)]));
    await expectNothingLostOrDoubled();
    const hotMonths = [...f.before.counts.keys()].filter((month) => !f.oldMonths().includes(month));
    expect([...(await partitionCounts(f.w.db)).keys()]).toEqual(hotMonths);
    expect(await fullRows(f.w.db)).toEqual(f.before.rows.filter((line) => hotMonths.includes(`${line.slice(0, 4)}-${line.slice(4, 6)}`)));
    expect(await invariantAnswers(f.w.cli)).toEqual(f.before.answers);
  });
});
