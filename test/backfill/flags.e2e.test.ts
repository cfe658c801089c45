import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { initWarehouse } from '../../src/warehouse/init.js';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase } from '../helpers/database.js';
import { count } from '../helpers/pipeline.js';
import { FIXTURE_CSV } from './support.js';

/** Nothing listens there: a flag check that let the command reach the database would fail differently. */
const NO_DATABASE = { DATABASE_URL: 'postgres://fxpipe:unused@127.0.0.1:9/none' };
const ECB = ['--source', 'ecb-csv', '--file', FIXTURE_CSV];

describe('fxpipe backfill flags', () => {
  it.each([
    [
      'a date that is not a calendar date',
      ['--from', '2024-02-30', '--to', '2024-12-31', ...ECB],
      /^fxpipe: invalid --from "2024-02-30": expected a calendar date YYYY-MM-DD$/,
    ],
    [
      'a date in another format',
      ['--from', '2024-01-01', '--to', '31/12/2024', ...ECB],
      /^fxpipe: invalid --to "31\/12\/2024": expected a calendar date YYYY-MM-DD$/,
    ],
    [
      '--from after --to',
      ['--from', '2024-12-31', '--to', '2024-01-01', ...ECB],
      /^fxpipe: invalid --from 2024-12-31: after --to 2024-01-01$/,
    ],
    [
      "--from before the ECB's first rates",
      ['--from', '1998-12-31', '--to', '2024-01-01', ...ECB],
      /^fxpipe: invalid --from 1998-12-31: .*1999/,
    ],
    ['--from after today', ['--from', '2999-01-01', '--to', '2999-12-31', ...ECB], /^fxpipe: invalid --from 2999-01-01: after today/],
    ['a missing --to', ['--from', '2024-01-01', ...ECB], /^fxpipe: error: required option '--to <date>' not specified$/],
    [
      'an unknown --source',
      ['--from', '2024-01-01', '--to', '2024-12-31', '--source', 'bloomberg'],
      /^fxpipe: error: option '--source <name>' argument 'bloomberg' is invalid\. Allowed choices are frankfurter, ecb-csv\.$/,
    ],
    [
      'a missing --file',
      ['--from', '2024-01-01', '--to', '2024-12-31', '--source', 'ecb-csv', '--file', '/nonexistent/eurofxref-hist.csv'],
      /^fxpipe: invalid --file "\/nonexistent\/eurofxref-hist\.csv": no such file$/,
    ],
    [
      'a directory as --file',
      ['--from', '2024-01-01', '--to', '2024-12-31', '--source', 'ecb-csv', '--file', '/tmp'],
      /^fxpipe: invalid --file "\/tmp": not a file$/,
    ],
    [
      '--file with frankfurter',
      ['--from', '2024-01-01', '--to', '2024-12-31', '--file', FIXTURE_CSV],
      /^fxpipe: --file is only for --source ecb-csv \(--source is frankfurter\)$/,
    ],
    [
      'a bad --change-threshold',
      ['--from', '2024-01-01', '--to', '2024-12-31', ...ECB, '--change-threshold', 'lots'],
      /^fxpipe: invalid --change-threshold "lots": expected a percentage between 0 and 100$/,
    ],
    [
      'a hexadecimal --change-threshold',
      ['--from', '2024-01-01', '--to', '2024-12-31', ...ECB, '--change-threshold', '0x10'],
      /^fxpipe: invalid --change-threshold "0x10": expected a percentage/,
    ],
    [
      'a year 0000 --from',
      ['--from', '0000-01-01', '--to', '2024-12-31', ...ECB],
      /^fxpipe: invalid --from "0000-01-01": expected a calendar date YYYY-MM-DD$/,
    ],
  ])('%s: exit 2, one line naming the flag', async (_, args, message) => {
    const result = await runCli(['backfill', ...args], { env: NO_DATABASE });
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(message)]);
    expect(result.code).toBe(2);
  });

  it('waits for a run holding the run lock, then exits 3 without loading anything', async () => {
    const database = await createTestDatabase();
    try {
      await initWarehouse(await database.open());
      const holder = new pg.Client({ connectionString: database.url });
      await holder.connect();
      try {
        await holder.query('begin');
        await holder.query(`select 1 from fxpipe_run_lock for update`);
        const result = await runCli(['backfill', '--from', '2024-01-01', '--to', '2024-12-31', ...ECB], {
          env: { DATABASE_URL: database.url, FXPIPE_LOCK_WAIT_MS: '200' },
        });
        expect(result.code).toBe(3);
        expect(result.stderr.trim()).toBe('fxpipe: another run is in progress (waited 0 s for its lock)');
        await holder.query('rollback');
        const db = await database.open();
        expect(await count(db, 'select * from fact_rates_history')).toBe(0);
        expect(await count(db, 'select * from backfill_chunks')).toBe(0);
        // Like a run, a backfill that never got the lock did nothing, and records nothing.
        expect(await count(db, 'select * from pipeline_runs')).toBe(0);
        expect(await count(db, 'select * from bronze_extraction')).toBe(0);
      } finally {
        await holder.end();
      }
    } finally {
      await database.drop();
    }
  });
});
