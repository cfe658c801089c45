import type { Db } from '../warehouse/db.js';
import type { WriteThroughput } from './types.js';

/**
 * The steady write rate from pipeline_runs: runs that fetched rates (scheduled, manual, demo) in the window.
 * Counting what every run after the first brought over the span from the first to the last avoids a fencepost
 * (the first run's rows arrived before the span began).
 */
export async function measureWrites(db: Db, since: Date, until: Date): Promise<WriteThroughput> {
  const [row] = await db.query<{
    runs: number;
    failed: number;
    first_at: Date | null;
    last_at: Date | null;
    extracted: string;
    loaded: string;
    first_extracted: number | null;
    first_loaded: number | null;
    backfill_runs: number;
    backfill_rows: string;
  }>(
    `with incremental as (
       select started_at, extracted_count, loaded_count from pipeline_runs
        where kind in ('scheduled', 'manual', 'demo') and status in ('loaded', 'unchanged')
          and started_at > $1 and started_at <= $2
     ), first_run as (select * from incremental order by started_at limit 1)
     select (select count(*)::int from incremental) as runs,
            (select count(*)::int from pipeline_runs where status = 'failed' and started_at > $1 and started_at <= $2) as failed,
            (select min(started_at) from incremental) as first_at,
            (select max(started_at) from incremental) as last_at,
            (select coalesce(sum(extracted_count), 0)::text from incremental) as extracted,
            (select coalesce(sum(loaded_count), 0)::text from incremental) as loaded,
            (select extracted_count from first_run) as first_extracted,
            (select loaded_count from first_run) as first_loaded,
            (select count(*)::int from pipeline_runs where kind = 'backfill' and started_at > $1 and started_at <= $2) as backfill_runs,
            (select coalesce(sum(loaded_count), 0)::text from pipeline_runs where kind = 'backfill' and started_at > $1 and started_at <= $2) as backfill_rows`,
    [since, until],
  );
  if (!row) throw new Error('pipeline_runs: no answer');
  const spanSeconds = row.first_at && row.last_at ? (row.last_at.getTime() - row.first_at.getTime()) / 1000 : 0;
  const measurable = row.runs >= 2 && spanSeconds > 0;
  return {
    runs: row.runs,
    failedRuns: row.failed,
    firstRunAt: row.first_at?.toISOString() ?? null,
    lastRunAt: row.last_at?.toISOString() ?? null,
    runsPerDay: measurable ? (row.runs - 1) / (spanSeconds / 86_400) : null,
    observationsPerSecond: measurable ? (Number(row.extracted) - (row.first_extracted ?? 0)) / spanSeconds : null,
    rowsPerSecond: measurable ? (Number(row.loaded) - (row.first_loaded ?? 0)) / spanSeconds : null,
    backfill: { runs: row.backfill_runs, rows: Number(row.backfill_rows) },
  };
}
