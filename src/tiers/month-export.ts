import { oneLine } from '../errors.js';
import type { Db } from '../warehouse/db.js';
import type { DirectDb } from '../warehouse/direct.js';
import { duckArchiveRows, KEY_ORDER, pgArchiveRowQuery, pgUnfitValueQuery } from './archive-row.js';
import { sqlPath, type Duck } from './duck.js';
import { partitionFingerprint, type Fingerprint } from './fingerprint.js';
import { MonthSkipped } from './month-skip.js';
import { copyQueryToCsv } from './pg-copy.js';
import { inSnapshot } from './snapshot.js';

/**
 * Writes a partition's archive rows to a CSV file; returns their fingerprint, taken in the same snapshot.
 * MonthSkipped when a value cannot be archived exactly (nothing written).
 */
export function exportPartition(db: DirectDb, partition: string, csvFile: string): Promise<Fingerprint> {
  return inSnapshot(db, async (tx) => {
    const unfit = await unfitValue(tx, partition);
    if (unfit) throw new MonthSkipped(unfit);
    const fingerprint = await partitionFingerprint(tx, partition);
    await copyQueryToCsv(tx.client, pgArchiveRowQuery(partition), csvFile);
    return fingerprint;
  });
}

/** Why the partition cannot be archived exactly, naming its first offending value; null when every value fits. */
async function unfitValue(db: Db, partition: string): Promise<string | null> {
  const [row] = await db.query<{
    n: number;
    column_name: string;
    value: string;
    base: string;
    quote: string;
    source: string;
    rate_timestamp: Date;
  }>(pgUnfitValueQuery(partition));
  if (!row) return null;
  const more = row.n > 1 ? ` (and ${row.n - 1} more)` : '';
  return `${row.column_name} ${row.value} of ${row.base}/${row.quote} from ${row.source} at ${row.rate_timestamp.toISOString()}${more} does not fit the archive's DECIMAL(38,24) exactly (at most 14 integer digits and 24 decimals)`;
}

/** The CSV's rows, typed, in key order, as one zstd-compressed Parquet file; MonthSkipped when DuckDB cannot write them. */
export async function writeParquet(duck: Duck, csvFile: string, parquetFile: string): Promise<void> {
  try {
    await duck.run(`copy (${duckArchiveRows('$1')} order by ${KEY_ORDER}) to ${sqlPath(parquetFile)} (format parquet, compression zstd)`, [
      csvFile,
    ]);
  } catch (error) {
    throw new MonthSkipped(`its Parquet file could not be written: ${oneLine(error)}`, error);
  }
}
