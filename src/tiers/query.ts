import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { usageError } from '../errors.js';
import type { DirectDb } from '../warehouse/direct.js';
import { coldFiles } from './cold-files.js';
import { Duck, sqlPath } from './duck.js';
import {
  buildDir,
  findSnapshot,
  installSnapshot,
  snapshotRoot,
  type ColdFile,
  type OpenSnapshot,
  type ShadowedMonth,
  type SnapshotFile,
  type UnfitRows,
} from './hot-snapshot.js';
import { hotStateOf, STATE_SQL, type HotState } from './hot-snapshot-key.js';
import { entriesOfJson, type ManifestEntry } from './manifest.js';
import { answerOf, type QueryAnswer } from './query-answer.js';
import { DIMENSIONS } from './query-dimensions.js';
import { duckQueryError, guardedSelect } from './query-guard.js';
import { SNAPSHOT_SETTINGS } from './snapshot.js';
import { hasSqlState, SqlState } from '../warehouse/sqlstate.js';

export type { ShadowedMonth, UnfitRows } from './hot-snapshot.js';

export interface QueryOptions {
  /** FXPIPE_HOME/cache: archives from S3 are downloaded there once, and the hot snapshot kept in hot-snapshot/. */
  cacheDir: string;
  /** The DuckDB to run in, opened already by the caller (runQuery closes it); else one is opened here. */
  duck?: Promise<Duck>;
}

export interface QueryResult extends QueryAnswer {
  /** Archived months for which PostgreSQL holds rows again (loaded after archiving); rates_history leaves those rows out. */
  shadowed: ShadowedMonth[];
  /** Hot rows holding a value DECIMAL(38,24) cannot hold exactly: rates_history shows that value as null. */
  unfit: UnfitRows | null;
  /** Whether this query wrote the hot snapshot (the hot data changed since the last one, or it was missing or damaged). */
  snapshotWritten: boolean;
}

/** An archived month as the history's date_key // 100 (YYYYMM). */
function monthKeyOf(entry: ManifestEntry): number {
  const key = Number(entry.month.replace('-', ''));
  if (!Number.isSafeInteger(key)) throw new Error(`not a month: ${entry.month}`);
  return key;
}

/**
 * rates_history: every history row, one relation whatever its tier. Hot rows come from the hot snapshot (less the
 * archived months, whose rows the archive holds), cold ones from the archived Parquet files, both typed by the same
 * projection, so a query answers the same before and after a month is archived. The archived months are written
 * into the view as numbers (monthKeyOf makes them; a view takes no parameters), as sqlPath writes the files.
 */
function ratesHistory(hot: string, cold: readonly string[], archived: readonly number[]): string {
  const hotRows = `select *, 'hot' as tier from read_parquet(${sqlPath(hot)})${archived.length ? ` where date_key // 100 not in (${archived.join(', ')})` : ''}`;
  const coldRows = cold.length ? ` union all by name select *, 'cold' as tier from read_parquet([${cold.map(sqlPath).join(', ')}])` : '';
  return `create view rates_history as
    select make_date(date_key // 10000, date_key // 100 % 100, date_key % 100) as date, date_key,
           base_code as base, quote_code as quote, source_name as source, rate_timestamp, rate, previous_rate, change_pct,
           flags, change_id, extraction_id, run_id, loaded_at, tier
      from (${hotRows}${coldRows})`;
}

/**
 * Runs sql in an in-memory DuckDB holding rates_history (hot + cold), currencies, sources and dates.
 * PostgreSQL is read in one snapshot (manifest, the hot tier's state, and when that state has no snapshot yet its
 * rows), so an archive committing meanwhile can neither hide nor double a month. The hot rows and dimensions come
 * from the hot snapshot of that state (hot-snapshot.ts), written first when there is none. The DuckDB is confined
 * before sql is even parsed: it reads only the hot snapshot's files and the archived Parquet files the views
 * read, and sql must be one read-only SELECT (query-guard.ts). Bad or refused SQL is a usage error (exit 2).
 */
export async function runQuery(db: DirectDb, sql: string, options: QueryOptions): Promise<QueryResult> {
  if (sql.trim() === '') {
    (await options.duck?.catch(() => undefined))?.close();
    throw usageError('empty query: expected SQL such as "select count(*) from rates_history"');
  }
  // DuckDB starts on its own threads, and the spill directory is made, while PostgreSQL is read.
  const opening = options.duck ?? Duck.open();
  opening.catch(() => undefined);
  const spilling = mkdtemp(path.join(os.tmpdir(), 'fxpipe-query-'));
  spilling.catch(() => undefined);
  let duck: Duck | undefined;
  let snapshot: OpenSnapshot | null = null;
  let read: PostgresRead | undefined;
  try {
    const root = snapshotRoot(options.cacheDir);
    read = await readPostgres(db, root);
    const found = (snapshot = read.snapshot);
    duck = await opening;
    const { archived } = read;
    // The archived files' rows are counted once per state of the tiers, when its snapshot is written.
    const files = await coldFiles(
      duck,
      archived,
      options.cacheDir,
      found ? (entry, file) => found.holdsColdRows(file, entry.rows) : undefined,
    );
    const months = archived.map(monthKeyOf);
    snapshot ??= await writeSnapshot(
      duck,
      root,
      read.build!,
      read.state,
      archived.map((entry, i) => ({ file: files[i]!, rows: entry.rows })),
      months,
    );
    const { paths } = snapshot;

    // The views, then the confinement, in one call.
    await duck.run(
      [
        ...DIMENSIONS.map(
          (dimension) => `create view ${dimension.table} as select * from read_parquet(${sqlPath(paths[dimension.table])})`,
        ),
        ratesHistory(paths.history, files, months),
        ...Duck.confinement([...Object.values(paths), ...files], path.join(await spilling, 'spill')),
      ].join(';\n'),
    );
    const statement = await guardedSelect(duck, sql);
    let answer: QueryAnswer;
    try {
      answer = answerOf(await statement.runAndReadAll());
    } catch (error) {
      throw duckQueryError(error);
    }
    return { ...answer, shadowed: [...snapshot.shadowed], unfit: snapshot.unfit, snapshotWritten: snapshot.written };
  } finally {
    (duck ?? (await opening.catch(() => undefined)))?.close();
    await snapshot?.close();
    const spillDir = await spilling.catch(() => undefined);
    if (spillDir) await rm(spillDir, { recursive: true, force: true });
    // Gone already when the snapshot was installed (renamed into place); else what a failure left.
    if (read?.build) await rm(read.build.dir, { recursive: true, force: true });
    await read?.ended;
  }
}

/** The hot rows and dimensions exported as CSV into dir, with the rows PostgreSQL sent for each file. */
interface HotExport {
  dir: string;
  rows: Record<SnapshotFile, number>;
}

interface PostgresRead {
  archived: ManifestEntry[];
  state: HotState;
  /** The hot snapshot of state, open, when there is a sound one; else null and build holds the CSV export to write it from. */
  snapshot: OpenSnapshot | null;
  build: HotExport | null;
  /** The snapshot's transaction ending (its COMMIT sent, not waited for). */
  ended: Promise<void>;
}

/**
 * In one snapshot (inSnapshot's transaction, begun in the same round trip as the hot tier's state is read): the
 * archived months, the hot tier's state, and its snapshot or, when there is none, its rows as CSV.
 */
async function readPostgres(db: DirectDb, root: string): Promise<PostgresRead> {
  const made: { snapshot?: OpenSnapshot | null; build?: string } = {};
  try {
    // Statements without parameters go as one simple query: one result each, the last one STATE_SQL's.
    const results = (await db.client.query(`begin; ${SNAPSHOT_SETTINGS}; ${STATE_SQL}`).catch((error: unknown) => {
      throw hasSqlState(error, SqlState.undefined_table) && String(error).includes('history_version')
        ? usageError(
            `the warehouse predates this version of fxpipe (it has no history_version): run \`fxpipe db init\` to bring it up to date`,
            error,
          )
        : error;
    })) as unknown as { rows: { state: string; archived: Parameters<typeof entriesOfJson>[0] }[] }[];
    const [row] = results.at(-1)!.rows;
    const archived = entriesOfJson(row!.archived);
    const state = hotStateOf(row!.state, archived);
    made.snapshot = await findSnapshot(root, state);
    let build: HotExport | null = null;
    if (!made.snapshot) {
      made.build = await buildDir(root);
      // Loaded (with pg-copy-streams) only when a snapshot is to be written.
      const rows = await (await import('./hot-snapshot-write.js')).exportHotCsv(db.client, made.build);
      build = { dir: made.build, rows };
    }
    const ended = db.query('commit').then(() => undefined);
    ended.catch(() => undefined);
    return { archived, state, snapshot: made.snapshot, build, ended };
  } catch (error) {
    await db.query('rollback').catch(() => undefined);
    await made.snapshot?.close();
    if (made.build) await rm(made.build, { recursive: true, force: true });
    throw error;
  }
}

/** The CSV files exported into build as the snapshot's Parquet files, installed with the archived files checked meanwhile. */
async function writeSnapshot(
  duck: Duck,
  root: string,
  build: HotExport,
  state: HotState,
  cold: ColdFile[],
  months: number[],
): Promise<OpenSnapshot> {
  const { parquetRows, shadowedMonths, unfitRows, writeHotParquet } = await import('./hot-snapshot-write.js');
  await writeHotParquet(duck, build.dir);
  const shadowed = await shadowedMonths(duck, build.dir, months);
  const unfit = await unfitRows(duck, build.dir);
  return installSnapshot(root, build.dir, state, build.rows, (file) => parquetRows(duck, file), cold, shadowed, unfit);
}
