import type { Db } from './db.js';

/** Fills dim_date for from..to (inclusive); returns how many dates were added. */
export async function ensureDates(db: Db, from: string, to: string): Promise<number> {
  const [row] = await db.query<{ added: number }>('select fx_ensure_dates($1::date, $2::date) as added', [from, to]);
  return row?.added ?? 0;
}

/** The range `db init` pre-fills: the ECB's history starts in 1999; two years ahead of today. */
export function defaultCalendarRange(now = new Date()): { from: string; to: string } {
  return { from: '1999-01-01', to: `${now.getUTCFullYear() + 2}-12-31` };
}
