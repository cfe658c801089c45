import type { Db } from './db.js';

export const MATERIALIZED_VIEWS = ['vw_rates_latest', 'vw_rates_daily_agg', 'vw_rates_monthly_agg', 'vw_rates_comparison'] as const;

/** Refreshes every materialized view CONCURRENTLY (readers are never blocked); returns ms per view. */
export async function refreshViews(db: Db): Promise<Record<string, number>> {
  const timings: Record<string, number> = {};
  for (const view of MATERIALIZED_VIEWS) {
    const started = performance.now();
    await db.query(`refresh materialized view concurrently ${view}`);
    timings[view] = Math.round((performance.now() - started) * 1000) / 1000;
  }
  return timings;
}
