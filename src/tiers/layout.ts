import type { Month } from '../calendar/months.js';

/** The Hive-style directory every archived month lives under, below the store's root. */
export const ARCHIVE_TABLE_DIR = 'fact_rates_history';

/** The object key of a month's Parquet file: fact_rates_history/year=YYYY/month=MM/part-0.parquet. */
export function monthKey(month: Month): string {
  return `${ARCHIVE_TABLE_DIR}/year=${month.slice(0, 4)}/month=${month.slice(5, 7)}/part-0.parquet`;
}

/** Splits a manifest URI (file:///…/fact_rates_history/… or s3://bucket/prefix/fact_rates_history/…) into store root and key. */
export function splitArchiveUri(uri: string): { root: string; key: string } {
  const at = uri.lastIndexOf(`/${ARCHIVE_TABLE_DIR}/year=`);
  if (at < 0) throw new Error(`not an archive URI: ${uri}`);
  return { root: uri.slice(0, at), key: uri.slice(at + 1) };
}
