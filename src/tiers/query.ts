import { listValue } from '@duckdb/node-api';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { usageError } from '../errors.js';
import type { DirectDb } from '../warehouse/direct.js';
import { coldFiles } from './cold-files.js';
import { Duck, sqlPath } from './duck.js';
import { buildDir, findSnapshot, installSnapshot, snapshotRoot, type ColdFile, type OpenSnapshot } from './hot-snapshot.js';
import { hotState, type HotState } from './hot-snapshot-key.js';
import { exportHotCsv, parquetRows, writeHotParquet } from './hot-snapshot-write.js';
import { manifestEntries, type ManifestEntry } from './manifest.js';
import type { Month } from './months.js';
import { answerOf, type QueryAnswer } from './query-answer.js';
import { DIMENSIONS } from './query-dimensions.js';
import { duckQueryError, guardedSelect } from './query-guard.js';
import { inSnapshot } from './snapshot.js';

export interface QueryOptions {
  /** FXPIPE_HOME/cache: archives from S3 are downloaded there once, and the hot snapshot kept in hot-snapshot/. */
  cacheDir: string;
}

/** An archived month for which PostgreSQL holds rows again (loaded after archiving); they are left out of rates_history. */
export interface ShadowedMonth {
  month: Month;
  hotRows: number;
}

export interface QueryResult extends QueryAnswer {
  shadowed: ShadowedMonth[];
  /** Whether this query wrote the hot snapshot (the hot data changed since the last one, or it was missing or damaged). */
  snapshotWritten: boolean;
}

/**
 * rates_history: every history row, one relation whatever its tier. Hot rows come from the hot snapshot, cold
 * ones from the archived Parquet files, both typed by the same projection, so a query answers the same
 * before and after a month is archived.
 */
const RATES_HISTORY = (cold: string | null) => `
  create view rates_history as
  select make_date(date_key // 10000, date_key // 100 % 100, date_key % 100) as date, date_key,
         base_code as base, quote_code as quote, source_name as source, rate_timestamp, rate, previous_rate, change_pct,
         flags, change_id, extraction_id, run_id, loaded_at, tier
    from (select *, 'hot' as tier from hot_rows where date_key // 100 not in (select month_key from archived_months)
          ${cold === null ? '' : `union all by name select *, 'cold' as tier from read_parquet([${cold}])`})`;

/**
 * Runs sql in an in-memory DuckDB holding rates_history (hot + cold), currencies, sources and dates.
 * PostgreSQL is read in one snapshot (manifest, the hot tier's state, and when that state has no snapshot yet its
 * rows), so an archive committing meanwhile can neither hide nor double a month. The hot rows and dimensions come
 * from the hot snapshot of that state (hot-snapshot.ts), written first when there is none. The DuckDB is confined
 * before sql is even parsed: it reads only the hot snapshot's files and the archived Parquet files the views
 * read, and sql must be one read-only SELECT (query-guard.ts). Bad or refused SQL is a usage error (exit 2).
 */
export async function runQuery(db: DirectDb, sql: string, options: QueryOptions): Promise<QueryResult> {
  if (sql.trim() === '') throw usageError('empty query: expected SQL such as "select count(*) from rates_history"');
  // DuckDB starts on its own threads while PostgreSQL is read.
  const opening = Duck.open();
  opening.catch(() => undefined);
  let duck: Duck | undefined;
  let snapshot: OpenSnapshot | null = null;
  let spillDir: string | undefined;
  let read: PostgresRead | undefined;
  try {
    const root = snapshotRoot(options.cacheDir);
    read = await readPostgres(db, root);
    const found = (snapshot = read.snapshot);
    duck = await opening;
    const { archived } = read;
    // The archived files' rows are counted once per state of the tiers, when its snapshot is written.
    const files = await coldFiles(duck, archived, options.cacheDir, found ? (entry, file) => found.holdsColdRows(file, entry.rows) : undefined);
    snapshot ??= await writeSnapshot(duck, root, read.build!, read.state, archived.map((entry, i) => ({ file: files[i]!, rows: entry.rows })));
    const { paths } = snapshot;
    await duck.run([
      ...DIMENSIONS.map((dimension) => `create view ${dimension.table} as select * from read_parquet(${sqlPath(paths[dimension.table])})`),
      `create view hot_rows as select * from read_parquet(${sqlPath(paths.history)})`,
      'create table archived_months (month_key integer primary key)',
    ].join(';\n'));
    if (archived.length) await duck.run('insert into archived_months select unnest($1::integer[])', [listValue(archived.map(monthKeyOf))]);
    await duck.run(RATES_HISTORY(files.length ? files.map(sqlPath).join(', ') : null));
    const shadowed = archived.length ? await shadowedMonths(duck) : [];

    spillDir = await mkdtemp(path.join(os.tmpdir(), 'fxpipe-query-'));
    await duck.confine([...Object.values(paths), ...files], path.join(spillDir, 'spill'));
    const statement = await guardedSelect(duck, sql);
    let answer: QueryAnswer;
    try {
      answer = answerOf(await statement.runAndReadAll());
    } catch (error) {
      throw duckQueryError(error);
    }
    return { ...answer, shadowed, snapshotWritten: snapshot.written };
  } finally {
    (duck ?? (await opening.catch(() => undefined)))?.close();
    await snapshot?.close();
    if (spillDir) await rm(spillDir, { recursive: true, force: true });
    // Gone already when the snapshot was installed (renamed into place); else what a failure left.
    if (read?.build) await rm(read.build, { recursive: true, force: true });
  }
}

interface PostgresRead {
  archived: ManifestEntry[];
  state: HotState;
  /** The hot snapshot of state, open, when there is a sound one; else null and build holds the CSV export to write it from. */
  snapshot: OpenSnapshot | null;
  build: string | null;
}

/** In one snapshot: the archived months, the hot tier's state, and its snapshot or, when there is none, its rows as CSV. */
async function readPostgres(db: DirectDb, root: string): Promise<PostgresRead> {
  const made: { snapshot?: OpenSnapshot | null; build?: string } = {};
  try {
    return await inSnapshot(db, async (tx) => {
      const [manifest] = await tx.query<{ present: boolean }>(`select to_regclass('archive_manifest') is not null as present`);
      const archived = manifest?.present ? await manifestEntries(tx, 'archived') : [];
      const state = await hotState(tx, archived);
      made.snapshot = await findSnapshot(root, state);
      if (!made.snapshot) {
        made.build = await buildDir(root);
        await exportHotCsv(db.client, made.build);
      }
      return { archived, state, snapshot: made.snapshot, build: made.build ?? null };
    });
  } catch (error) {
    await made.snapshot?.close();
    if (made.build) await rm(made.build, { recursive: true, force: true });
    throw error;
  }
}

/** The CSV files exported into build as the snapshot's Parquet files, installed with the archived files checked meanwhile. */
async function writeSnapshot(duck: Duck, root: string, build: string, state: HotState, cold: ColdFile[]): Promise<OpenSnapshot> {
  await writeHotParquet(duck, build);
  return installSnapshot(root, build, state, (file) => parquetRows(duck, file), cold);
}

const monthKeyOf = (entry: ManifestEntry) => Number(entry.month.replace('-', ''));

async function shadowedMonths(duck: Duck): Promise<ShadowedMonth[]> {
  const rows = await duck.rows<{ month_key: number; hot_rows: string }>(
    `select date_key // 100 as month_key, count(*)::varchar as hot_rows from hot_rows
      where date_key // 100 in (select month_key from archived_months) group by 1 order by 1`,
  );
  return rows.map((r) => ({ month: `${String(r.month_key).slice(0, 4)}-${String(r.month_key).slice(4)}`, hotRows: Number(r.hot_rows) }));
}
