import type { Db } from './db.js';
import { firstDay, lastDay } from '../calendar/months.js';
import { ensurePartitions, ensureUpcomingPartitions } from './partitions.js';

export interface MaintainResult {
  /** Partitions created for this month and the next 3. */
  upcomingCreated: string[];
  /** Rows the default partition held, by month (yyyy-mm), before they were moved. */
  foundInDefault: { month: string; rows: number }[];
  /** Partitions created to take those rows in. */
  createdForDefault: string[];
  movedRows: number;
}

/**
 * `fxpipe db maintain`: ensures this month's and the next 3 partitions, then moves every row the default
 * partition caught into a proper monthly partition (created for it), in one transaction.
 */
export async function maintainPartitions(db: Db, now = new Date()): Promise<MaintainResult> {
  return db.transaction(async (tx) => {
    const upcomingCreated = await ensureUpcomingPartitions(tx, now);
    const months = await tx.query<{ month: number; rows: number }>(
      `select date_key / 100 as month, count(*)::int as rows from fact_rates_history_default group by 1 order by 1`,
    );
    const createdForDefault: string[] = [];
    for (const { month } of months) {
      createdForDefault.push(...(await ensurePartitions(tx, firstDay(monthOfKey(month)), lastDay(monthOfKey(month)))));
    }
    const [left] = await tx.query<{ rows: number }>('select count(*)::int as rows from fact_rates_history_default');
    const found = months.reduce((sum, m) => sum + m.rows, 0);
    return {
      upcomingCreated,
      foundInDefault: months.map((m) => ({ month: monthOfKey(m.month), rows: m.rows })),
      createdForDefault,
      movedRows: found - (left?.rows ?? 0),
    };
  });
}

/** 'YYYY-MM' of a date key's month part (date_key / 100, YYYYMM). */
const monthOfKey = (yyyymm: number): string => `${String(yyyymm).slice(0, 4)}-${String(yyyymm).slice(4)}`;
