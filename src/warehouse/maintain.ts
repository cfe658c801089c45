import type { Db } from './db.js';
import { ensurePartitions, ensureUpcomingPartitions, monthStart } from './partitions.js';

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
      const first = new Date(Date.UTC(Math.floor(month / 100), (month % 100) - 1, 1));
      createdForDefault.push(...(await ensurePartitions(tx, monthStart(first), lastDay(first))));
    }
    const [left] = await tx.query<{ rows: number }>('select count(*)::int as rows from fact_rates_history_default');
    const found = months.reduce((sum, m) => sum + m.rows, 0);
    return {
      upcomingCreated,
      foundInDefault: months.map((m) => ({ month: `${String(m.month).slice(0, 4)}-${String(m.month).slice(4)}`, rows: m.rows })),
      createdForDefault,
      movedRows: found - (left?.rows ?? 0),
    };
  });
}

function lastDay(first: Date): string {
  return new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + 1, 0)).toISOString().slice(0, 10);
}
