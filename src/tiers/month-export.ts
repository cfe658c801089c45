import type { DirectDb } from '../warehouse/direct.js';
import { duckArchiveRows, KEY_ORDER, pgArchiveRowQuery } from './archive-row.js';
import { sqlPath, type Duck } from './duck.js';
import { partitionFingerprint, type Fingerprint } from './fingerprint.js';
import { copyQueryToCsv } from './pg-copy.js';
import { inSnapshot } from './snapshot.js';

/** Writes a partition's archive rows to a CSV file; returns their fingerprint, taken in the same snapshot. */
export function exportPartition(db: DirectDb, partition: string, csvFile: string): Promise<Fingerprint> {
  return inSnapshot(db, async (tx) => {
    const fingerprint = await partitionFingerprint(tx, partition);
    await copyQueryToCsv(db.client, pgArchiveRowQuery(partition), csvFile);
    return fingerprint;
  });
}

/** The CSV's rows, typed, in key order, as one zstd-compressed Parquet file. */
export async function writeParquet(duck: Duck, csvFile: string, parquetFile: string): Promise<void> {
  await duck.run(`copy (${duckArchiveRows('$1')} order by ${KEY_ORDER}) to ${sqlPath(parquetFile)} (format parquet, compression zstd)`, [csvFile]);
}
