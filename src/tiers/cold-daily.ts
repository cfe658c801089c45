import { mkdir } from 'node:fs/promises';
import type { Db } from '../warehouse/db.js';
import { coldFiles } from './cold-files.js';
import { Duck, sqlPath } from './duck.js';
import { manifestEntries } from './manifest.js';

export interface DailyRow {
  dateKey: number;
  open: string;
  high: string;
  low: string;
  close: string;
  observations: number;
}

/**
 * One USD pair's daily open/high/low/close from the archived months overlapping [fromKey, toKey] (YYYYMMDD):
 * the same aggregates vw_rates_daily_agg computes on the hot side, read from the Parquet files with DuckDB.
 * Values are the exact text PostgreSQL stored (the files keep it next to the DECIMAL).
 */
export async function coldDailyRows(db: Db, quote: string, source: string, fromKey: number, toKey: number, cacheDir: string): Promise<{ rows: DailyRow[]; months: string[] }> {
  const entries = (await manifestEntries(db, 'archived')).filter((e) => {
    const key = Number(e.month.replace('-', ''));
    return key >= Math.floor(fromKey / 100) && key <= Math.floor(toKey / 100);
  });
  if (entries.length === 0) return { rows: [], months: [] };
  await mkdir(cacheDir, { recursive: true });
  const duck = await Duck.open();
  try {
    const files = await coldFiles(duck, entries, cacheDir);
    const rows = await duck.rows<{ date_key: number; open: string; high: string; low: string; close: string; n: string }>(
      `select date_key, arg_min(rate_text, rate_timestamp) as open, arg_max(rate_text, rate) as high, arg_min(rate_text, rate) as low,
              arg_max(rate_text, rate_timestamp) as close, count(*)::varchar as n
         from read_parquet([${files.map(sqlPath).join(', ')}])
        where base_code = 'USD' and quote_code = $1 and source_name = $2 and date_key between $3 and $4
        group by date_key order by date_key`,
      [quote, source, fromKey, toKey],
    );
    return {
      rows: rows.map((r) => ({ dateKey: r.date_key, open: r.open, high: r.high, low: r.low, close: r.close, observations: Number(r.n) })),
      months: entries.map((e) => e.month),
    };
  } finally {
    duck.close();
  }
}
