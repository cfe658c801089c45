import { rm } from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';
import { duckArchiveRows, pgArchiveRowQuery } from './archive-row.js';
import { sqlPath, type Duck } from './duck.js';
import { parquetName, SNAPSHOT_FILES, type ShadowedMonth, type SnapshotFile, type UnfitRows } from './hot-snapshot.js';
import { copyQueryToCsv } from './pg-copy.js';
import { DIMENSIONS, duckDimensionRows } from './query-dimensions.js';

/** The columns of the history's archive rows that rates_history reads, and `unfit` (pgArchiveRowQuery's hot option). */
const HISTORY_COLUMNS = `date_key, base_code, quote_code, source_name, rate_timestamp, rate, previous_rate, change_pct, flags,
  extraction_id, run_id, loaded_at, change_id, unfit`;

const csvOf = (dir: string, file: SnapshotFile) => path.join(dir, `${file}.csv`);

/**
 * The hot rows and the dimensions as CSV files in dir, by COPY … TO STDOUT on client (in the caller's snapshot);
 * returns the rows PostgreSQL sent for each file, which the Parquet files must hold.
 */
export async function exportHotCsv(client: pg.Client, dir: string): Promise<Record<SnapshotFile, number>> {
  const history = await copyQueryToCsv(client, pgArchiveRowQuery('fact_rates_history', { hot: true }), csvOf(dir, 'history'));
  const rows = { history } as Record<SnapshotFile, number>;
  for (const dimension of DIMENSIONS) rows[dimension.table] = await copyQueryToCsv(client, dimension.pg, csvOf(dir, dimension.table));
  return rows;
}

/**
 * The CSV files in dir as the snapshot's Parquet files, typed as the archive types them (DECIMAL(38,24) rates), with
 * snappy compression: the snapshot is a local cache, read far more often than written. The CSV files are removed.
 */
export async function writeHotParquet(duck: Duck, dir: string): Promise<void> {
  const to = (file: SnapshotFile) => `to ${sqlPath(path.join(dir, parquetName(file)))} (format parquet, compression snappy)`;
  const history = duckArchiveRows(sqlPath(csvOf(dir, 'history')), { hot: true });
  await duck.run(`copy (select ${HISTORY_COLUMNS} from (${history})) ${to('history')}`);
  for (const dimension of DIMENSIONS) {
    await duck.run(`copy (${duckDimensionRows(dimension, sqlPath(csvOf(dir, dimension.table)))}) ${to(dimension.table)}`);
  }
  for (const file of SNAPSHOT_FILES) await rm(csvOf(dir, file));
}

/** Rows of a Parquet file, from its footer. */
export async function parquetRows(duck: Duck, file: string): Promise<number> {
  const [row] = await duck.rows<{ n: string }>('select coalesce(sum(num_rows), 0)::varchar as n from parquet_file_metadata($1)', [file]);
  return Number(row?.n);
}

/** The hot rows of each archived month (months as YYYYMM) in the history file written into dir: months loaded again after archiving. */
export async function shadowedMonths(duck: Duck, dir: string, months: readonly number[]): Promise<ShadowedMonth[]> {
  if (months.length === 0) return [];
  const rows = await duck.rows<{ month_key: number; hot_rows: string }>(
    `select date_key // 100 as month_key, count(*)::varchar as hot_rows from read_parquet($1)
      where list_contains($2::integer[], date_key // 100) group by 1 order by 1`,
    [path.join(dir, parquetName('history')), JSON.stringify(months)],
  );
  return rows.map((r) => ({ month: `${String(r.month_key).slice(0, 4)}-${String(r.month_key).slice(4)}`, hotRows: Number(r.hot_rows) }));
}

/** The hot rows holding a value DECIMAL(38,24) cannot hold exactly (null in the file), and the first of them; null when none. */
export async function unfitRows(duck: Duck, dir: string): Promise<UnfitRows | null> {
  const [row] = await duck.rows<{ rows: string; first: string | null }>(
    `select count(unfit)::varchar as rows, arg_min(unfit, (rate_timestamp, base_code, quote_code, source_name)) as first
       from read_parquet($1) where unfit is not null`,
    [path.join(dir, parquetName('history'))],
  );
  return row?.first ? { rows: Number(row.rows), first: row.first } : null;
}
