import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatAnswer } from '../../src/cli/query-format.js';
import { createMarket } from '../../src/demo/market.js';
import { startProviderServer, type ProviderServer } from '../../src/demo/provider-server.js';
import { Duck } from '../../src/tiers/duck.js';
import { hotStateOf, STATE_SQL } from '../../src/tiers/hot-snapshot-key.js';
import { entriesOfJson } from '../../src/tiers/manifest.js';
import { runQuery } from '../../src/tiers/query.js';
import { inSnapshot } from '../../src/tiers/snapshot.js';
import type { DirectDb } from '../../src/warehouse/direct.js';
import { upsertCurrencies, upsertSource } from '../../src/warehouse/dimensions.js';
import { initWarehouse } from '../../src/warehouse/init.js';
import { ensurePartitions } from '../../src/warehouse/partitions.js';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, scratchDir, type TestDatabase } from '../helpers/database.js';
import { TEST_API_KEY } from '../helpers/pipeline.js';

/** Every row of rates_history summed up, whatever its tier: equal before and after archiving. */
const TOTALS = `select count(*) as n, sum(rate) as total, sum(change_id) as ids, max(change_id) as last, count(distinct quote) as quotes
                  from rates_history`;
const PG_TOTALS = `select count(*)::int as n, trim_scale(sum(rate))::text as total, sum(change_id)::int as ids,
                          max(change_id)::int as last, count(distinct quote_currency_id)::int as quotes from fact_rates_history`;

/**
 * `fxpipe query` keeps a Parquet snapshot of the hot tier in FXPIPE_HOME/cache/hot-snapshot/<key>/: written when
 * the hot data changed (a run, an UPDATE in place, an archive, a restore), reused otherwise, and never read when
 * its files are damaged.
 */
describe('fxpipe query: the hot snapshot', () => {
  const dir = scratchDir('fxpipe-query-snapshot-');
  const home = path.join(dir, 'home');
  const root = path.join(home, 'cache', 'hot-snapshot');
  let database: TestDatabase;
  let db: DirectDb;
  let server: ProviderServer;
  let env: Record<string, string>;
  /** The totals once 2023-01 is loaded and the first run is in, before anything is archived. */
  let loaded: unknown;

  beforeAll(async () => {
    mkdirSync(path.join(dir, 'tmp'));
    database = await createTestDatabase();
    db = await database.open();
    await initWarehouse(db);
    const ids = await upsertCurrencies(db, ['USD', 'EUR', 'JPY']);
    const source = await upsertSource(db, 'ecb', 'reference', 'https://example.invalid/ecb');
    await ensurePartitions(db, '2023-01-01', '2023-01-31');
    await db.query(
      `insert into fact_rates_history (date_key, base_currency_id, quote_currency_id, source_id, rate_timestamp, rate)
       select to_char(d, 'YYYYMMDD')::int, $1, q.id, $2, d + interval '14 hours', q.level + extract(day from d) / 1000
         from generate_series('2023-01-01'::timestamptz, '2023-01-31', interval '1 day') d
        cross join (values ($3::smallint, 0.92::numeric), ($4::smallint, 131.5)) q(id, level)`,
      [ids.get('USD'), source, ids.get('EUR'), ids.get('JPY')],
    );
    // The real clock, so a run stores fresh rates.
    server = await startProviderServer({
      market: createMarket({ seed: 5, start: new Date('2026-01-01T00:00:00Z') }),
      clock: () => new Date(),
      apiKey: TEST_API_KEY,
    });
    env = { ...server.env, DATABASE_URL: database.url, FXPIPE_HOME: home, TMPDIR: path.join(dir, 'tmp'), FXPIPE_HTTP_RETRIES: '1' };
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The JSON answer of sql as `fxpipe query --format json` gives it, run in this process (runQuery, the command's whole work). */
  async function answer(sql: string): Promise<unknown> {
    const result = await runQuery(db, sql, { cacheDir: path.join(home, 'cache') });
    expect(result.shadowed).toEqual([]);
    return JSON.parse(formatAnswer(result, 'json'));
  }

  /** TOTALS' answer; cliTotals: through the CLI, which must succeed quietly. */
  const totals = async () => ((await answer(TOTALS)) as unknown[])[0];
  async function cliTotals(): Promise<unknown> {
    const result = await runCli(['query', TOTALS, '--format', 'json'], { env });
    expect(result).toMatchObject({ code: 0, stderr: '' });
    return (JSON.parse(result.stdout) as unknown[])[0];
  }

  async function pgTotals(): Promise<unknown> {
    const [row] = await db.query(PG_TOTALS);
    return row;
  }

  /** The key of the hot tier as it is now, computed as the query computes it. */
  const currentKey = () =>
    inSnapshot(db, async (tx) => {
      const [row] = await tx.query<{ state: string; archived: Parameters<typeof entriesOfJson>[0] }>(STATE_SQL);
      return hotStateOf(row!.state, entriesOfJson(row!.archived)).key;
    });
  const historyFile = (key: string) => path.join(root, key, 'history.parquet');
  /** A file's identity: rewritten means another inode, or at least another mtime. */
  const identity = (file: string) => {
    const info = statSync(file);
    return `${info.ino}:${info.mtimeMs}`;
  };
  const meta = (key: string) =>
    JSON.parse(readFileSync(path.join(root, key, 'meta.json'), 'utf8')) as {
      files: Record<string, { bytes: number; sha256: string; rows: number }>;
    };
  const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
  /** Every value of a history file as DuckDB reads it, hashed, or DuckDB's error. */
  async function contentOf(file: string): Promise<string> {
    const duck = await Duck.open();
    try {
      const [row] = await duck.rows<{ n: string; h: string }>(
        `select count(*)::varchar as n, sum(hash(columns(*)))::varchar as h from read_parquet($1)`,
        [file],
      );
      return `${row!.n} rows, ${row!.h}`;
    } catch (error) {
      return `error: ${error instanceof Error ? error.message : String(error)}`;
    } finally {
      duck.close();
    }
  }

  /** The bytes of a Parquet file with one byte flipped where DuckDB reads the change, found by trying a copy. */
  async function visiblyDamaged(file: string): Promise<Buffer> {
    const sound = await contentOf(file);
    const copy = path.join(dir, 'damaged.parquet');
    const original = readFileSync(file);
    const step = Math.max(1, Math.floor(original.length / 40));
    for (let at = Math.floor(original.length / 2); at < original.length; at += step) {
      const bytes = Buffer.from(original);
      bytes[at] = bytes[at]! ^ 0xff;
      writeFileSync(copy, bytes);
      if ((await contentOf(copy)) !== sound) return bytes;
    }
    throw new Error(`no byte of ${file} changes what DuckDB reads`);
  }

  /** The snapshot of key is whole: every file as meta.json records it. */
  function expectSound(key: string): void {
    const recorded = meta(key).files;
    expect(Object.keys(recorded).sort()).toEqual(['currencies', 'dates', 'history', 'sources']);
    for (const [file, { bytes, sha256: sum }] of Object.entries(recorded)) {
      const parquet = path.join(root, key, `${file}.parquet`);
      expect([statSync(parquet).size, sha256(parquet)]).toEqual([bytes, sum]);
    }
  }

  it('is written by the first query and reused, file untouched, while nothing changes', async () => {
    const key = await currentKey();
    expect(existsSync(root)).toBe(false);
    expect(await cliTotals()).toEqual(await pgTotals());
    expect(readdirSync(root)).toEqual([key]);
    expectSound(key);
    expect(meta(key).files.history!.rows).toBe(62);
    const first = identity(historyFile(key));
    const metaFirst = identity(path.join(root, key, 'meta.json'));

    expect(await totals()).toEqual(await pgTotals());
    expect(await currentKey()).toBe(key);
    expect(identity(historyFile(key))).toBe(first);
    expect(identity(path.join(root, key, 'meta.json'))).toBe(metaFirst);
    expect(readdirSync(root)).toEqual([key]);
  }, 120_000);

  it('is written again after a run adds rows, and answers with them', async () => {
    const before = await currentKey();
    const [{ n: rowsBefore }] = (await db.query<{ n: number }>('select count(*)::int as n from fact_rates_history')) as [{ n: number }];
    const run = await runCli(['run'], { env });
    expect(run.code).toBe(0);
    const [{ n: rowsAfter }] = (await db.query<{ n: number }>('select count(*)::int as n from fact_rates_history')) as [{ n: number }];
    expect(rowsAfter).toBeGreaterThan(rowsBefore);

    const key = await currentKey();
    expect(key).not.toBe(before);
    expect(await totals()).toEqual(await pgTotals());
    expectSound(key);
    expect(meta(key).files.history!.rows).toBe(rowsAfter);
    loaded = await pgTotals();
  }, 120_000);

  it('is written again after an UPDATE in place (same row count, same newest change_id)', async () => {
    const before = await currentKey();
    await db.query(`update fact_rates_history set rate = rate * 2 where date_key = 20230115`);
    const key = await currentKey();
    expect(key).not.toBe(before);
    const changed = await pgTotals();
    expect(changed).not.toEqual(loaded);
    expect(await totals()).toEqual(changed);
    expectSound(key);

    await db.query(`update fact_rates_history set rate = rate / 2 where date_key = 20230115`);
    expect(await totals()).toEqual(loaded);
  }, 120_000);

  it('is written again after a write by hand that names a partition, once it commits', async () => {
    const before = await currentKey();
    const [{ partition }] = (await db.query<{ partition: string }>(
      `select tableoid::regclass::text as partition from fact_rates_history where date_key = 20230115 limit 1`,
    )) as [{ partition: string }];
    expect(partition).not.toBe('fact_rates_history_default');
    const writer = await database.open();
    try {
      await writer.query('begin');
      await writer.query(`update ${partition} set rate = rate * 3 where date_key = 20230115`);
      // Not committed: the query's snapshot sees neither the rows nor the version moved.
      expect(await currentKey()).toBe(before);
      expect(await totals()).toEqual(loaded);
      await writer.query('commit');
    } finally {
      await writer.close();
    }
    const key = await currentKey();
    expect(key).not.toBe(before);
    const changed = await pgTotals();
    expect(changed).not.toEqual(loaded);
    expect(await totals()).toEqual(changed);

    await db.query(`update ${partition} set rate = rate / 3 where date_key = 20230115`);
    expect(await currentKey()).not.toBe(key);
    expect(await totals()).toEqual(loaded);
  }, 120_000);

  it('is written again after an archive and after a restore; the answers stay the same', async () => {
    const hotKey = await currentKey();
    const archived = await runCli(['archive', '--older-than', '90d', '--json'], { env });
    expect(archived).toMatchObject({ code: 0, stderr: '' });
    expect((JSON.parse(archived.stdout) as { months: { month: string }[] }).months.map((m) => m.month)).toEqual(['2023-01']);
    const archivedKey = await currentKey();
    expect(archivedKey).not.toBe(hotKey);
    expect(await totals()).toEqual(loaded);
    expectSound(archivedKey);
    expect(meta(archivedKey).files.history!.rows).toBe((loaded as { n: number }).n - 62);

    const restored = await runCli(['restore', '2023-01'], { env });
    expect(restored).toMatchObject({ code: 0, stderr: '' });
    const restoredKey = await currentKey();
    expect([hotKey, archivedKey]).not.toContain(restoredKey);
    expect(await totals()).toEqual(loaded);
    expectSound(restoredKey);
    expect(meta(restoredKey).files.history!.rows).toBe((loaded as { n: number }).n);
  }, 180_000);

  it('two queries at once with no snapshot both answer right, and leave one sound snapshot', async () => {
    rmSync(root, { recursive: true, force: true });
    const key = await currentKey();
    // Two processes: each its own connection, DuckDB and build directory.
    const answers = await Promise.all([cliTotals(), cliTotals()]);
    expect(answers).toEqual([loaded, loaded]);
    expect(readdirSync(root)).toEqual([key]);
    expectSound(key);
  }, 120_000);

  it('a truncated history file is never answered from: the query rewrites the snapshot', async () => {
    const key = await currentKey();
    const file = historyFile(key);
    truncateSync(file, Math.floor(statSync(file).size / 2));
    const damaged = identity(file);
    expect(await totals()).toEqual(loaded);
    expect(identity(file)).not.toBe(damaged);
    expectSound(key);
  }, 120_000);

  it('a history file changed in place, same size and mtime, is never answered from: the query rewrites the snapshot', async () => {
    const key = await currentKey();
    const file = historyFile(key);
    const times = path.join(dir, 'times');
    writeFileSync(times, '');
    execFileSync('touch', ['-r', file, times]);
    const { mtimeNs } = statSync(file, { bigint: true });
    const everything = 'select count(*) as n, sum(hash(columns(*))) as h from rates_history';
    const sound = await answer(everything);
    // A byte whose change DuckDB would read as other values (or fail on): neither may reach the answer.
    writeFileSync(file, await visiblyDamaged(file));
    // The mtime set back to the nanosecond (as `touch -r` or a restoring copy would): only the ctime tells.
    execFileSync('touch', ['-r', times, file]);
    expect(statSync(file, { bigint: true }).mtimeNs).toBe(mtimeNs);
    expect(sha256(file)).not.toBe(meta(key).files.history!.sha256);
    expect(await answer(everything)).toEqual(sound);
    expect(await totals()).toEqual(loaded);
    expectSound(key);
  }, 120_000);

  it('an FXPIPE_HOME where no snapshot can be written is a usage error naming it (exit 2, one line)', async () => {
    const notADirectory = path.join(dir, 'home-file');
    writeFileSync(notADirectory, '');
    const result = await runCli(['query', 'select 1'], { env: { ...env, FXPIPE_HOME: notADirectory } });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toEqual([
      `fxpipe: cannot write the hot snapshot under ${path.join(notADirectory, 'cache', 'hot-snapshot')} (ENOTDIR): fxpipe query keeps it in FXPIPE_HOME/cache, which must be a writable directory`,
    ]);
  });

  it('a snapshot whose meta.json records another state is not read', async () => {
    const key = await currentKey();
    const recorded = meta(key) as ReturnType<typeof meta> & { key: string };
    expect(recorded.key).toBe(key);
    recorded.key = createHash('sha256').update('another state').digest('hex');
    writeFileSync(path.join(root, key, 'meta.json'), JSON.stringify(recorded));
    expect(await totals()).toEqual(loaded);
    expect(meta(key).files.history!.rows).toBe((loaded as { n: number }).n);
    expect((meta(key) as { key?: string }).key).toBe(key);
    expectSound(key);
  }, 120_000);
});
