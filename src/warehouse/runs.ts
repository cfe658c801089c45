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

export async function startRun(db: Db, runId: string, kind: RunKind, startedAt: Date): Promise<void> {
  await db.query(`insert into pipeline_runs (run_id, kind, started_at, status) values ($1, $2, $3, 'running')`, [runId, kind, startedAt]);
}

export async function finishRun(db: Db, run: FinishedRun): Promise<void> {
  await db.query(
    `update pipeline_runs
        set finished_at = $2, status = $3, source_used = $4, failover = $5, extracted_count = $6, loaded_count = $7,
            unchanged_count = $8, rejected_count = $9, stage_ms = $10, error = $11
      where run_id = $1`,
    [run.runId, run.finishedAt, run.status, run.sourceUsed, run.failover, run.counts.extracted, run.counts.loaded,
      run.counts.unchanged, run.counts.rejected, JSON.stringify({ ...run.stageMs, views: run.viewRefreshMs }), run.error ?? null],
  );
}

/** A run whose transaction rolled back still leaves one failed row, outside that transaction. */
export async function recordFailedRun(db: Db, runId: string, kind: RunKind, startedAt: Date, finishedAt: Date, error: string): Promise<void> {
  await db.query(
    `insert into pipeline_runs (run_id, kind, started_at, finished_at, status, error) values ($1, $2, $3, $4, 'failed', $5)
     on conflict (run_id) do nothing`,
    [runId, kind, startedAt, finishedAt, error],
  );
}

/**
 * A job whose pipeline_runs row stays visible while it works (backfill) holds this session lock for as
 * long as it runs; a row still 'running' whose lock is free belongs to a process that died.
 */
export async function holdRunMarker(db: Db, runId: string): Promise<void> {
  await db.query('select pg_advisory_lock(hashtextextended($1::text, 0))', [runId]);
}

export async function releaseRunMarker(db: Db, runId: string): Promise<void> {
  await db.query('select pg_advisory_unlock(hashtextextended($1::text, 0))', [runId]);
}

/** Marks 'running' rows of processes that died as failed; returns how many. */
export async function markInterruptedRuns(db: Db): Promise<number> {
  const rows = await db.query(
    `update pipeline_runs
        set status = 'failed', finished_at = now(), error = 'interrupted: the process ended before the job finished'
      where status = 'running'
        and pg_try_advisory_lock(hashtextextended(run_id::text, 0))
        and pg_advisory_unlock(hashtextextended(run_id::text, 0))
     returning 1`,
  );
  return rows.length;
}
