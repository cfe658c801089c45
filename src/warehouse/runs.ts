import type { Db } from './db.js';

export type RunKind = 'scheduled' | 'manual' | 'backfill' | 'reprocess' | 'demo';
export type RunStatus = 'loaded' | 'unchanged' | 'failed';

/** What pipeline_runs records of a finished run. */
export interface FinishedRun {
  runId: string;
  status: RunStatus;
  sourceUsed: string | null;
  failover: boolean;
  counts: { extracted: number; loaded: number; unchanged: number; rejected: number };
  stageMs: Record<string, number>;
  viewRefreshMs: Record<string, number>;
  finishedAt: string;
  error?: string;
}

export const INTERRUPTED = 'interrupted: the process ended before the job finished';

/**
 * Records a job as running. Called under the run lock, when every other 'running' row belongs to a process
 * that died: those are marked failed (interrupted) in the same statement.
 */
export async function startRun(db: Db, runId: string, kind: RunKind, startedAt: Date): Promise<void> {
  await db.query(
    `with interrupted as (
       update pipeline_runs set status = 'failed', finished_at = now(), error = $4 where status = 'running')
     insert into pipeline_runs (run_id, kind, started_at, status) values ($1, $2, $3, 'running')`,
    [runId, kind, startedAt, INTERRUPTED],
  );
}

export async function finishRun(db: Db, run: FinishedRun): Promise<void> {
  await db.query(
    `update pipeline_runs
        set finished_at = $2, status = $3, source_used = $4, failover = $5, extracted_count = $6, loaded_count = $7,
            unchanged_count = $8, rejected_count = $9, stage_ms = $10, error = $11
      where run_id = $1`,
    [
      run.runId,
      run.finishedAt,
      run.status,
      run.sourceUsed,
      run.failover,
      run.counts.extracted,
      run.counts.loaded,
      run.counts.unchanged,
      run.counts.rejected,
      JSON.stringify({ ...run.stageMs, views: run.viewRefreshMs }),
      run.error ?? null,
    ],
  );
}

/** A failed job's row, whatever it got to: the counts and stages so far, when it had any. */
export interface FailedRun {
  runId: string;
  kind: RunKind;
  startedAt: Date;
  finishedAt: Date;
  error: string;
  sourceUsed: string | null;
  counts: FinishedRun['counts'] | null;
  stageMs: Record<string, number>;
}

/** A job whose work rolled back still leaves one failed row (its 'running' row updated, or a new one), outside that transaction. */
export async function recordFailedRun(db: Db, run: FailedRun): Promise<void> {
  await db.query(
    `insert into pipeline_runs (run_id, kind, started_at, finished_at, status, error, source_used,
                                extracted_count, loaded_count, unchanged_count, rejected_count, stage_ms)
     values ($1, $2, $3, $4, 'failed', $5, $6, $7, $8, $9, $10, $11)
     on conflict (run_id) do update
        set status = 'failed', finished_at = excluded.finished_at, error = excluded.error, source_used = excluded.source_used,
            extracted_count = excluded.extracted_count, loaded_count = excluded.loaded_count,
            unchanged_count = excluded.unchanged_count, rejected_count = excluded.rejected_count, stage_ms = excluded.stage_ms`,
    [
      run.runId,
      run.kind,
      run.startedAt,
      run.finishedAt,
      run.error,
      run.sourceUsed,
      run.counts?.extracted ?? 0,
      run.counts?.loaded ?? 0,
      run.counts?.unchanged ?? 0,
      run.counts?.rejected ?? 0,
      JSON.stringify({ ...run.stageMs, views: {} }),
    ],
  );
}
