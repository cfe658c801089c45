import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { usageError } from '../errors.js';
import type { DirectDb } from '../warehouse/direct.js';
import { duckArchiveRows, pgArchiveRowQuery } from './archive-row.js';
import { coldFiles } from './cold-files.js';
import { Duck, sqlPath } from './duck.js';
import { manifestEntries, type ManifestEntry } from './manifest.js';
import type { Month } from './months.js';
import { copyQueryToCsv } from './pg-copy.js';
import { answerOf, type QueryAnswer } from './query-answer.js';
import { DIMENSIONS, duckDimensionRows } from './query-dimensions.js';
import { duckQueryError, guardedSelect } from './query-guard.js';
import { inSnapshot } from './snapshot.js';

export interface QueryOptions {
  /** Where archives from S3 are downloaded once (FXPIPE_HOME/cache). */
  cacheDir: string;
}

/** An archived month for which PostgreSQL holds rows again (loaded after archiving); they are left out of rates_history. */
export interface ShadowedMonth {
  month: Month;
  hotRows: number;
}

export interface QueryResult extends QueryAnswer {
  shadowed: ShadowedMonth[];
}

/**
 * rates_history: every history row, one relation whatever its tier. Hot rows come from PostgreSQL, cold
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
 * PostgreSQL is read in one snapshot (manifest, history, dimensions), so an archive committing meanwhile
 * can neither hide nor double a month. The DuckDB is confined before sql is even parsed: it reads only the
 * hot CSV and the archived Parquet files the views need, and sql must be one read-only SELECT
 * (query-guard.ts). Bad or refused SQL is a usage error (exit 2).
 */
export async function runQuery(db: DirectDb, sql: string, options: QueryOptions): Promise<QueryResult> {
  if (sql.trim() === '') throw usageError('empty query: expected SQL such as "select count(*) from rates_history"');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fxpipe-query-'));
  const duck = await Duck.open();
  try {
    const hotCsv = path.join(dir, 'hot.csv');
    const dimensionCsv = (table: string) => path.join(dir, `${table}.csv`);
    const archived = await inSnapshot(db, async (tx) => {
      const [manifest] = await tx.query<{ present: boolean }>(`select to_regclass('archive_manifest') is not null as present`);
      const entries = manifest?.present ? await manifestEntries(tx, 'archived') : [];
      await copyQueryToCsv(db.client, pgArchiveRowQuery('fact_rates_history'), hotCsv);
      for (const dimension of DIMENSIONS) await copyQueryToCsv(db.client, dimension.pg, dimensionCsv(dimension.table));
      return entries;
    });
    for (const dimension of DIMENSIONS) await duck.run(`create table ${dimension.table} as ${duckDimensionRows(dimension)}`, [dimensionCsv(dimension.table)]);
    // A view: DuckDB converts only the rows and columns a query needs (DECIMAL(38,24) parsing is slow).
    await duck.run(`create view hot_rows as ${duckArchiveRows(sqlPath(hotCsv))}`);
    await duck.run('create table archived_months (month_key integer primary key)');
    for (const entry of archived) await duck.run('insert into archived_months values ($1)', [monthKeyOf(entry)]);
    const files = await coldFiles(duck, archived, options.cacheDir);
    await duck.run(RATES_HISTORY(files.length ? files.map(sqlPath).join(', ') : null));
    const shadowed = await shadowedMonths(duck);

    await duck.confine([hotCsv, ...files], path.join(dir, 'spill'));
    const statement = await guardedSelect(duck, sql);
    let answer: QueryAnswer;
    try {
      answer = answerOf(await statement.runAndReadAll());
    } catch (error) {
      throw duckQueryError(error);
    }
    return { ...answer, shadowed };
  } finally {
    duck.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const monthKeyOf = (entry: ManifestEntry) => Number(entry.month.replace('-', ''));

async function shadowedMonths(duck: Duck): Promise<ShadowedMonth[]> {
  const rows = await duck.rows<{ month_key: number; hot_rows: string }>(
    `select date_key // 100 as month_key, count(*)::varchar as hot_rows from hot_rows
      where date_key // 100 in (select month_key from archived_months) group by 1 order by 1`,
  );
  return rows.map((r) => ({ month: `${String(r.month_key).slice(0, 4)}-${String(r.month_key).slice(4)}`, hotRows: Number(r.hot_rows) }));
}
