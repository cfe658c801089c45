import type { Db } from '../warehouse/db.js';
import { withArchivedMonths } from './cold-files.js';

/** A value of USD→code from one source as stored at or before an instant: the last history row by then. */
export interface StoredValueAt {
  code: string;
  source: string;
  at: Date;
}

export interface StoredValue {
  rate: string;
  /** The history row's own time (the value may have been published again since, unchanged). */
  rateTimestamp: Date;
}

/**
 * The last archived history row of each wanted (USD→code, source) at or before its instant, from the Parquet files
 * of the archived months up to the latest instant's month, with the exact text PostgreSQL stored (the files keep it
 * next to the DECIMAL); null where none. No DuckDB is opened when no such month is archived.
 */
export async function archivedValuesAt(db: Db, wanted: StoredValueAt[], cacheDir: string): Promise<(StoredValue | null)[]> {
  const lastMonth =
    wanted
      .map((w) => w.at.toISOString().slice(0, 7))
      .sort()
      .at(-1) ?? '';
  const found = await withArchivedMonths(
    db,
    (month) => month <= lastMonth,
    cacheDir,
    async (duck, files) => {
      const values: (StoredValue | null)[] = [];
      for (const w of wanted) {
        const [row] = await duck.rows<{ rate: string | null; ms: string | null }>(
          `select arg_max(rate_text, rate_timestamp) as rate, epoch_ms(max(rate_timestamp))::varchar as ms
           from read_parquet(${files})
          where base_code = 'USD' and quote_code = $1 and source_name = $2 and rate_timestamp <= $3::timestamptz`,
          [w.code, w.source, w.at.toISOString()],
        );
        values.push(row?.rate && row.ms ? { rate: row.rate, rateTimestamp: new Date(Number(row.ms)) } : null);
      }
      return values;
    },
  );
  return found ?? wanted.map(() => null);
}
