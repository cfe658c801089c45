import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatAnswer } from '../../src/cli/query-format.js';
import { ExitCode, FxpipeError, oneLine } from '../../src/errors.js';
import { runQuery } from '../../src/tiers/query.js';
import type { DirectDb } from '../../src/warehouse/direct.js';
import { upsertCurrencies, upsertSource } from '../../src/warehouse/dimensions.js';
import { initWarehouse } from '../../src/warehouse/init.js';
import { ensurePartitions } from '../../src/warehouse/partitions.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { createTestDatabase, scratchDir, type TestDatabase } from '../helpers/database.js';

/** Every file under dir (recursively) with its SHA-256, so a test sees any file written, changed or left behind. */
function snapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    files[path.relative(dir, file)] = createHash('sha256').update(readFileSync(file)).digest('hex');
  }
  return files;
}

/**
 * One query as `fxpipe query SQL --format csv` answers it, run in this process (runQuery, the command's whole work):
 * the exit code, the CSV on stdout, and the one line main() prints for an error. The CLI itself is run for the first
 * query and for one refusal.
 */
async function queryIn(db: DirectDb, cacheDir: string, sql: string): Promise<CliResult> {
  try {
    const result = await runQuery(db, sql, { cacheDir });
    expect(result.shadowed).toEqual([]);
    return { code: ExitCode.ok, signal: null, stdout: formatAnswer(result, 'csv'), stderr: '' };
  } catch (error) {
    return {
      code: error instanceof FxpipeError ? error.exitCode : ExitCode.failed,
      signal: null,
      stdout: '',
      stderr: `fxpipe: ${oneLine(error)}\n`,
    };
  }
}

/**
 * `fxpipe query` over a warehouse with one archived month (2023-01, a Parquet file under FXPIPE_HOME/archive)
 * and one hot month (this one). FXPIPE_HOME holds secrets a query must not reach: the password file the
 * embedded server keeps there, a dot-file, and a stray file next to the archive.
 */
describe('fxpipe query is read-only and confined', () => {
  const dir = scratchDir('fxpipe-query-confined-');
  const home = path.join(dir, 'home');
  const out = path.join(dir, 'out');
  const tmp = path.join(dir, 'tmp');
  const secret = `secret-${randomBytes(12).toString('hex')}`;
  let database: TestDatabase;
  let db: DirectDb;
  let env: Record<string, string>;
  let archiveFile: string;
  /** The hot snapshot's history file, which the views read, and a copy of it, which they do not. */
  let hotFile: string;
  let hotCopy: string;
  let before: Record<string, string>;
  let tmpBefore: string | undefined;

  const cli = (sql: string): Promise<CliResult> => runCli(['query', sql, '--format', 'csv'], { env });
  const query = (sql: string): Promise<CliResult> => queryIn(db, path.join(home, 'cache'), sql);

  beforeAll(async () => {
    for (const each of [home, out, tmp]) mkdirSync(each, { recursive: true });
    database = await createTestDatabase();
    db = await database.open();
    await initWarehouse(db);
    const ids = await upsertCurrencies(db, ['USD', 'EUR', 'JPY']);
    const source = await upsertSource(db, 'ecb', 'reference', 'https://example.invalid/ecb');
    const today = new Date().toISOString().slice(0, 10);
    await ensurePartitions(db, '2023-01-01', '2023-01-31');
    await ensurePartitions(db, today, today);
    await db.query(
      `insert into fact_rates_history (date_key, base_currency_id, quote_currency_id, source_id, rate_timestamp, rate)
       select to_char(d, 'YYYYMMDD')::int, $1, q.id, $2, d + interval '14 hours', q.level
         from (select generate_series('2023-01-01'::timestamptz, '2023-01-31', interval '1 day') union all select $5::date::timestamptz) days(d)
        cross join (values ($3::smallint, 0.92::numeric), ($4::smallint, 131.5)) q(id, level)`,
      [ids.get('USD'), source, ids.get('EUR'), ids.get('JPY'), today],
    );
    // TMPDIR in the scratch directory: the query's own temp files are watched like every other file.
    env = { DATABASE_URL: database.url, FXPIPE_HOME: home, TMPDIR: tmp };
    // The same for the queries run in this process.
    tmpBefore = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
    const archived = await runCli(['archive', '--older-than', '90d', '--json'], { env });
    expect(archived.stderr).toBe('');
    expect(archived.code).toBe(0);
    archiveFile = path.join(home, 'archive', 'fact_rates_history', 'year=2023', 'month=01', 'part-0.parquet');
    expect(Object.keys(snapshot(home))).toContain(path.relative(home, archiveFile));

    writeFileSync(path.join(home, 'password'), `${secret}\n`, { mode: 0o600 });
    writeFileSync(path.join(home, '.secret'), `${secret}\n`, { mode: 0o600 });
    writeFileSync(path.join(home, 'archive', 'notes.csv'), `${secret}\n`);
    const unqueried = snapshot(dir);

    // The first query writes the hot tier's snapshot under FXPIPE_HOME/cache/hot-snapshot/<key>/, and nothing else.
    expect(await cli('select 1 as x')).toMatchObject({ code: 0, stderr: '', stdout: 'x\n1\n' });
    const queried = snapshot(dir);
    const written = Object.keys(queried)
      .filter((file) => !(file in unqueried))
      .sort();
    const key = path.basename(path.dirname(written[0] ?? ''));
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    const snapshotDir = path.join('home', 'cache', 'hot-snapshot', key);
    expect(written).toEqual(
      ['currencies.parquet', 'dates.parquet', 'history.parquet', 'meta.json', 'sources.parquet'].map((file) =>
        path.join(snapshotDir, file),
      ),
    );
    expect(Object.fromEntries(Object.entries(queried).filter(([file]) => file in unqueried))).toEqual(unqueried);
    hotFile = path.join(dir, snapshotDir, 'history.parquet');
    hotCopy = path.join(home, 'cache', 'hot-snapshot', 'copy.parquet');
    copyFileSync(hotFile, hotCopy);
    before = snapshot(dir);
  }, 180_000);

  afterAll(async () => {
    if (tmpBefore === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = tmpBefore;
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers over the registered relations, hot and archived alike, with DuckDB locked down', async () => {
    const tiers = await query('select tier, count(*) as n from rates_history group by all order by all');
    expect(tiers).toMatchObject({ code: 0, stderr: '', stdout: 'tier,n\ncold,62\nhot,2\n' });
    const joined = await query(`select c.code, count(*) as n from rates_history r join currencies c on c.code = r.quote
                                  join dates d using (date_key) join sources s using (source) group by all order by all`);
    expect(joined).toMatchObject({ code: 0, stderr: '', stdout: 'code,n\nEUR,32\nJPY,32\n' });
    expect((await query('describe rates_history')).stdout).toContain('\nrate,"DECIMAL(38,24)",');
    expect((await query('select count(*) as n from range(3)')).stdout).toBe('n\n3\n');
    expect((await query(`select name from pragma_table_info('currencies') order by cid limit 2`)).stdout).toBe('name\ncurrency_id\ncode\n');

    const settings = await query(`select name, value from duckdb_settings()
      where name in ('enable_external_access', 'autoinstall_known_extensions', 'autoload_known_extensions', 'allow_community_extensions', 'lock_configuration')
      order by name`);
    expect(settings.stdout).toBe(
      'name,value\nallow_community_extensions,false\nautoinstall_known_extensions,false\n' +
        'autoload_known_extensions,false\nenable_external_access,false\nlock_configuration,true\n',
    );
    // The Node API has no getenv() (the DuckDB shell's): the environment, DATABASE_URL included, stays out of reach.
    expect((await query(`select getenv('DATABASE_URL')`)).stderr).toMatch(
      /^fxpipe: query failed: Catalog Error: Scalar Function with name getenv does not exist/,
    );
    expect(snapshot(dir)).toEqual(before);
  });

  it('the command refuses a read of the password file: exit 2, one line naming why, no secret, no file written', async () => {
    const result = await cli(`select content from read_text('${home}/password')`);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(
        /^fxpipe: query refused: only single SELECT statements over rates_history, currencies, sources, dates are allowed: Permission Error: Cannot access file ".*\/password" - file system operations are disabled/,
      ),
    ]);
    expect(result.stderr).not.toContain(secret);
    expect(snapshot(dir)).toEqual(before);
  });

  // Each: the SQL, and what the one-line refusal names.
  const ATTACKS: [string, () => string, RegExp][] = [
    [
      'read_text of the password file',
      () => `select content from read_text('${home}/password')`,
      /Permission Error: Cannot access file ".*\/password" - file system operations are disabled/,
    ],
    ['read_text of a dot-file', () => `select content from read_text('${home}/.secret')`, /Permission Error: Cannot access file/],
    [
      'a CSV file named in FROM',
      () => `select * from '${home}/archive/notes.csv'`,
      /Permission Error: Cannot access file ".*\/notes\.csv"/,
    ],
    [
      'read_csv of /etc/passwd',
      () => `select * from read_csv('/etc/passwd', sep = ':')`,
      /Permission Error: Cannot access file "\/etc\/passwd"/,
    ],
    ['glob of /etc', () => `select * from glob('/etc/*')`, /Permission Error: Cannot access file "\/etc\/\*"/],
    ['a file next to the archive', () => `select * from read_csv('${home}/archive/notes.csv')`, /Permission Error: Cannot access file/],
    [
      'read_text of an archive file the views read',
      () => `select content from read_text('${archiveFile}')`,
      /table function read_text is not offered/,
    ],
    ['a copy of the hot snapshot file', () => `select * from '${hotCopy}'`, /Permission Error: Cannot access file ".*\/copy\.parquet"/],
    [
      "the hot snapshot's meta.json",
      () => `select * from '${path.join(path.dirname(hotFile), 'meta.json')}'`,
      /Permission Error: Cannot access file ".*\/meta\.json"/,
    ],
    [
      'read_parquet of the hot snapshot file',
      () => `select * from read_parquet('${hotFile}')`,
      /table function read_parquet is not offered/,
    ],
    ['COPY to a file', () => `copy (select * from rates_history) to '${out}/x.csv'`, /Permission Error: Cannot access file/],
    ['COPY over the archive file', () => `copy (select 1 as x) to '${archiveFile}' (format parquet)`, /COPY is a write/],
    ['ATTACH of a new database file', () => `attach '${out}/x.duckdb' as x`, /ATTACH opens another database/],
    ['INSTALL of an extension', () => `install httpfs from 'http://127.0.0.1:9'`, /LOAD \(INSTALL, LOAD\) touches extensions/],
    ['LOAD of an extension', () => 'load httpfs', /LOAD \(INSTALL, LOAD\) touches extensions/],
    ['SET', () => 'set threads = 1', /SET changes the configuration/],
    ['PRAGMA', () => 'pragma enable_profiling', /PRAGMA changes the configuration/],
    ['CREATE', () => 'create table t as select 1 as x', /CREATE is a write/],
    ['EXPORT DATABASE', () => `export database '${out}/export'`, /^fxpipe: query refused: /],
    ['CALL', () => 'call duckdb_settings()', /CALL runs a procedure/],
    [
      'EXPLAIN ANALYZE of a write',
      () => 'explain analyze create table t as select 1 as x',
      /EXPLAIN ANALYZE runs the statement it explains/,
    ],
    [
      'a SELECT that turns on logging to a file',
      () => `select * from enable_logging(storage = 'file', storage_path = '${out}')`,
      /table function enable_logging is not offered/,
    ],
    ['SQL text run by query()', () => `select * from query('select 42 as x')`, /table function query is not offered/],
    ['a SELECT followed by a write', () => `select 1; copy (select 1) to '${out}/y.csv'`, /found 2 statements; run them one at a time/],
  ];

  it.each(ATTACKS)('refuses %s: exit 2, one line naming why, no secret, no file written', async (_name, sql, reason) => {
    const result = await query(sql());
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toEqual([
      expect.stringMatching(
        /^fxpipe: query refused: only single SELECT statements over rates_history, currencies, sources, dates are allowed: /,
      ),
    ]);
    expect(lines[0]).toMatch(reason);
    expect(result.stderr).not.toContain(secret);
    expect(result.stderr).not.toContain(new URL(database.url).password || secret);
    expect(snapshot(dir)).toEqual(before);
  });
});
