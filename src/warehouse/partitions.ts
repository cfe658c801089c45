import type { Db } from './db.js';

/** First day of the month that holds date, in UTC, as YYYY-MM-DD. */
export function monthStart(date: Date, addMonths = 0): string {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + addMonths, 1)).toISOString().slice(0, 10);
}

/** Creates the monthly history partitions for from..to that are missing; returns the ones created. */
export async function ensurePartitions(db: Db, from: string, to: string): Promise<string[]> {
  const rows = await db.query<{ name: string }>('select fx_ensure_partitions($1::date, $2::date) as name', [from, to]);
  return rows.map((row) => row.name);
}

/** The rule every run and `db init` / `db maintain` apply: the current month and the next 3 exist. */
export function ensureUpcomingPartitions(db: Db, now = new Date()): Promise<string[]> {
  return ensurePartitions(db, monthStart(now), monthStart(now, 3));
}
