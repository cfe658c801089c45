import type { Db } from '../warehouse/db.js';
import type { ViewRefresh } from './types.js';

const RECENT_RUNS = 20;

/** The view refresh every loading run records in pipeline_runs.stage_ms (refresh in all, views per view). */
export async function measureViewRefresh(db: Db): Promise<ViewRefresh> {
  const rows = await db.query<{ refresh: number; views: Record<string, number> | null }>(
    `select (stage_ms->>'refresh')::float8 as refresh, stage_ms->'views' as views from pipeline_runs
      where status = 'loaded' and (stage_ms->>'refresh')::float8 > 0
      order by started_at desc limit $1`,
    [RECENT_RUNS],
  );
  const times = rows.map((r) => r.refresh).sort((a, b) => a - b);
  const latest = rows[0];
  return {
    runs: rows.length,
    latestMs: latest?.refresh ?? null,
    medianMs: times.length ? times[Math.floor((times.length - 1) / 2)]! : null,
    maxMs: times.length ? times[times.length - 1]! : null,
    latestByView: Object.entries(latest?.views ?? {})
      .map(([view, ms]) => ({ view, ms: Number(ms) }))
      .sort((a, b) => b.ms - a.ms),
  };
}
