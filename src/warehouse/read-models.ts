import type { Db } from './db.js';
import { mergeTouched, rebuildDays, type TouchedDays } from './publications.js';

/**
 * Brings rates_daily and rates_monthly up to date for the days a writer touched, in the writer's transaction: only
 * those (source, day, month) rows are recomputed, so the cost does not grow with the history stored. Returns ms per
 * source rebuilt (keyed `source <id>`).
 */
export async function maintainReadModels(db: Db, touched: readonly (TouchedDays | null)[]): Promise<Record<string, number>> {
  const timings: Record<string, number> = {};
  for (const range of mergeTouched(touched.filter((t): t is TouchedDays => t !== null))) {
    const started = performance.now();
    await rebuildDays(db, range);
    timings[`source ${range.sourceId}`] = Math.round((performance.now() - started) * 1000) / 1000;
  }
  return timings;
}
