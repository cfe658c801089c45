import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/warehouse/db.js';
import { initWarehouse } from '../../src/warehouse/init.js';
import { finished, runCli, startCli } from '../helpers/cli.js';
import { type BackfillJson } from '../helpers/cli-json.js';
import { createTestDatabase, scratchDir, type TestDatabase } from '../helpers/database.js';
import { count } from '../helpers/pipeline.js';
import { currentContents, historyContents, threeYearCsv } from './support.js';

describe('a backfill killed half-way', () => {
  const databases: TestDatabase[] = [];
  const clients: pg.Client[] = [];
  const dir = scratchDir('fxpipe-resume-');
  afterAll(async () => {
    for (const client of clients) await client.end().catch(() => undefined);
    await Promise.all(databases.map((d) => d.drop()));
    rmSync(dir, { recursive: true, force: true });
  });

  const csv = path.join(dir, 'eurofxref-hist.csv');
  writeFileSync(csv, threeYearCsv());
  // A threshold above 0, so each chunk's decisions depend on what the chunks before it stored.
  const args = [
    'backfill',
    '--source',
    'ecb-csv',
    '--file',
    csv,
    '--from',
    '2022-01-01',
    '--to',
    '2024-12-31',
    '--change-threshold',
    '0.3',
    '--json',
  ];

  async function fresh(): Promise<{ database: TestDatabase; db: Db }> {
    const database = await createTestDatabase();
    databases.push(database);
    const db = await database.open();
    await initWarehouse(db);
    return { database, db };
  }

  async function connect(url: string): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    clients.push(client);
    return client;
  }

  /**
   * Pauses the backfill inside its second chunk's transaction, after the chunk's rows and its record are
   * written and before the commit: a test-only trigger waits on an advisory lock this session holds.
   */
  async function pauseInSecondChunk(url: string): Promise<{ release(): Promise<void>; remove(): Promise<void> }> {
    const blocker = await connect(url);
    await blocker.query(`create function test_pause() returns trigger language plpgsql as $$
                         begin
                           if (select count(*) from backfill_chunks) = 2 then
                             perform pg_advisory_lock(4243); perform pg_advisory_unlock(4243);
                           end if;
                           return null;
                         end $$`);
    await blocker.query('create trigger test_pause after insert on backfill_chunks for each statement execute function test_pause()');
    await blocker.query('select pg_advisory_lock(4243)');
    return {
      release: async () => void (await blocker.query('select pg_advisory_unlock(4243)')),
      remove: async () => void (await blocker.query('drop trigger test_pause on backfill_chunks; drop function test_pause()')),
    };
  }

  async function waitForPause(watcher: pg.Client): Promise<number> {
    for (let i = 0; i < 600; i++) {
      const { rows } = await watcher.query<{ pid: number }>(
        `select pid from pg_stat_activity where datname = current_database() and wait_event = 'advisory'
            and query ilike 'insert into backfill_chunks%'`,
      );
      if (rows[0]) return rows[0].pid;
      await sleep(50);
    }
    throw new Error('the backfill never reached its second chunk');
  }

  it('and started again ends with exactly the rows of an uninterrupted backfill', async () => {
    const uninterrupted = await fresh();
    const straight = await runCli(args, { env: { DATABASE_URL: uninterrupted.database.url } });
    expect(straight.code).toBe(0);
    expect((JSON.parse(straight.stdout) as BackfillJson).counts).toMatchObject({ chunksLoaded: 3, chunksSkipped: 0 });

    const { database, db } = await fresh();
    const pause = await pauseInSecondChunk(database.url);
    const watcher = await connect(database.url);
    const backends = async () =>
      (await watcher.query<{ pid: number }>('select pid from pg_stat_activity where datname = current_database()')).rows.map((r) => r.pid);
    const before = await backends();
    const killed = startCli(args, { env: { DATABASE_URL: database.url } });
    const backend = await waitForPause(watcher);
    const { rows: written } = await watcher.query(
      `select 1 from pg_locks where pid = $1 and relation = 'fact_rates_history'::regclass and mode = 'RowExclusiveLock'`,
      [backend],
    );
    expect(written).toHaveLength(1); // the second chunk's rows are in, uncommitted (the first chunk's transaction is over)
    killed.kill('SIGKILL');
    expect((await finished(killed)).signal).toBe('SIGKILL');
    await pause.release();
    // Every backend of the killed process (its own and its run-lock session's) gone.
    for (let i = 0; i < 200 && !(await backends()).every((pid) => before.includes(pid)); i++) await sleep(50);
    await pause.remove();
    // The dead backfill shows as interrupted at once, not as running until the next job.
    const status = await runCli(['status', '--json'], { env: { DATABASE_URL: database.url } });
    expect((JSON.parse(status.stdout) as { runs: { kind: string; status: string }[] }).runs).toMatchObject([
      { kind: 'backfill', status: 'interrupted' },
    ]);

    // The first chunk is loaded and recorded; the second left nothing but its raw input, kept in bronze.
    const chunks = await db.query<{ chunk_from: string }>(`select to_char(chunk_from, 'YYYY-MM-DD') as chunk_from from backfill_chunks`);
    expect(chunks).toEqual([{ chunk_from: '2022-01-01' }]);
    expect(await count(db, 'select * from fact_rates_history where date_key >= 20230101')).toBe(0);
    expect(await count(db, 'select * from fact_rates_history')).toBeGreaterThan(0);
    expect(await count(db, 'select * from bronze_extraction')).toBe(2);

    const resumed = await runCli(args, { env: { DATABASE_URL: database.url } });
    expect(resumed.code).toBe(0);
    expect((JSON.parse(resumed.stdout) as BackfillJson).chunks.map((c) => c.status)).toEqual(['skipped', 'loaded', 'loaded']);

    const expected = await historyContents(uninterrupted.db, 'ecb');
    expect(expected.length).toBeGreaterThan(1000);
    expect(await historyContents(db, 'ecb')).toEqual(expected);
    expect(await currentContents(db, 'ecb')).toEqual(await currentContents(uninterrupted.db, 'ecb'));
    const chunkRecords = (d: Db) =>
      d.query(
        `select chunk_from, chunk_to, content_sha256, change_threshold_pct, rows_read, rows_loaded, rows_rejected from backfill_chunks order by chunk_from`,
      );
    expect(await chunkRecords(db)).toEqual(await chunkRecords(uninterrupted.db));
    const daily = (d: Db) =>
      d.query(`select date_key, quote_code, observations, close_rate::text from vw_rates_daily_agg order by date_key, quote_code`);
    expect(await daily(db)).toEqual(await daily(uninterrupted.db));
    // The killed backfill's run row does not stay 'running' forever.
    const runs = await db.query<{ status: string; error: string | null }>(
      `select status, error from pipeline_runs where kind = 'backfill' order by started_at`,
    );
    expect(runs).toEqual([
      { status: 'failed', error: 'interrupted: the process ended before the job finished' },
      { status: 'loaded', error: null },
    ]);
  });
});
