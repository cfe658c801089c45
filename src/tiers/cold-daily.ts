import type { Db } from '../warehouse/db.js';
import { withArchivedMonths } from './cold-files.js';

export interface DailyRow {
  dateKey: number;
  open: string;
  high: string;
  low: string;
  close: string;
  observations: number;
}

export interface Leg {
  quote: string;
  source: string;
}

/**
 * USD pairs' daily open/high/low/close from the archived months overlapping [fromKey, toKey] (YYYYMMDD): the same
 * aggregates vw_rates_daily_agg computes on the hot side, read from the Parquet files with DuckDB, every leg from
 * one opening of the files. Values are the exact text PostgreSQL stored (the files keep it next to the DECIMAL).
 */
export async function coldDailyRows(db: Db, legs: Leg[], fromKey: number, toKey: number, cacheDir: string): Promise<{ rows: Map<string, DailyRow[]>; months: string[] }> {
  const inRange = (month: string) => {
    const key = Number(month.replace('-', ''));
    return key >= Math.floor(fromKey / 100) && key <= Math.floor(toKey / 100);
  };
  const read = await withArchivedMonths(db, inRange, cacheDir, async (duck, files, months) => {
    const rows = new Map<string, DailyRow[]>();
    for (const leg of legs) {
      const days = await duck.rows<{ date_key: number; open: string; high: string; low: string; close: string; n: string }>(
        `select date_key, arg_min(rate_text, rate_timestamp) as open, arg_max(rate_text, rate) as high, arg_min(rate_text, rate) as low,
                arg_max(rate_text, rate_timestamp) as close, count(*)::varchar as n
           from read_parquet(${files})
          where base_code = 'USD' and quote_code = $1 and source_name = $2 and date_key between $3 and $4
          group by date_key order by date_key`,
        [leg.quote, leg.source, fromKey, toKey],
      );
      rows.set(leg.quote, days.map((r) => ({ dateKey: r.date_key, open: r.open, high: r.high, low: r.low, close: r.close, observations: Number(r.n) })));
    }
    return { rows, months };
  });
  return read ?? { rows: new Map(), months: [] };
}
