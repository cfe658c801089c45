import type { Db } from './db.js';
import { mergeTouched, rebuildDays, type TouchedDays } from './publications.js';

/**
 * Brings rates_daily and rates_monthly up to date for the days a writer touched, in the writer's transaction: only
 * those (source, day, month) rows are recomputed, so the cost does not grow with the history stored. Returns ms per
 * source rebuilt, keyed by source name (knownNames: source id → name, when the caller has them).
 */
export async function maintainReadModels(
  db: Db,
  touched: readonly (TouchedDays | null)[],
  knownNames?: ReadonlyMap<number, string>,
): Promise<Record<string, number>> {
  const ranges = mergeTouched(touched.filter((t): t is TouchedDays => t !== null));
  if (ranges.length === 0) return {};
  // A run knows its sources' names (one round trip less in the refresh stage); other writers look them up.
  const names =
    knownNames ??
    new Map(
      (
        await db.query<{ source_id: number; source_name: string }>(
          'select source_id, source_name from dim_source where source_id = any ($1::smallint[])',
          [ranges.map((r) => r.sourceId)],
        )
      ).map((row) => [row.source_id, row.source_name]),
    );
  const timings: Record<string, number> = {};
  for (const range of ranges) {
    const started = performance.now();
    await rebuildDays(db, range);
    const name = names.get(range.sourceId) ?? `source ${range.sourceId}`;
    timings[name] = (timings[name] ?? 0) + Math.round((performance.now() - started) * 1000) / 1000;
  }
  return timings;
}
