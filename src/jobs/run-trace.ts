import { randomUUID } from 'node:crypto';
import { FxpipeError, oneLine } from '../errors.js';
import type { Logger } from '../log.js';
import { markInProgress } from './runs-in-progress.js';
import type { Db, SessionDb } from '../warehouse/db.js';
import { isConnectionError } from '../warehouse/reconnect.js';
import { holdRunLock } from '../warehouse/run-lock.js';
import { recordFailedRun, startRun, type FailedRun, type FinishedRun, type RunKind } from '../warehouse/runs.js';

/*
 * The one lifecycle of every job that records a run (run, backfill, reprocess), in the manner of dlt's pipeline trace:
 * run lock → run row (marking runs whose process died as interrupted) → the job's stages, each timed → its finish, or
 * its failure recorded with the database's own message and wrapped in one error naming the run.
 */

/** The stages every run row records (pipeline_runs.stage_ms), the same names for every kind of job. */
export const STAGES = ['lock', 'extract', 'normalize', 'load', 'refresh', 'total'] as const;
export type Stage = (typeof STAGES)[number];
export type StageMs = Record<Stage, number>;

export interface RunTrace {
  readonly runId: string;
  readonly kind: RunKind;
  readonly startedAt: Date;
  readonly clock: () => Date;
  /** The job's logger, bound to its runId. */
  readonly log: Logger;
  /**
   * Records the run as running (marking the runs of dead processes interrupted), on db: the job's own transaction when
   * the row must roll back with it (a dry run).
   */
  start(db: Db): Promise<void>;
  /** Ends a stage: the time since the previous lap is this stage's. */
  lap(stage: Stage): void;
  /** Sets a stage's time measured some other way (a backfill's refresh, summed over its chunks). */
  set(stage: Stage, ms: number): void;
  /** Every stage's time so far, total included. */
  stageMs(): StageMs;
  /** What a failure adds to the run's row and message, kept up to date by the job as it goes. */
  readonly failure: { where?: string; sourceUsed?: string | null; counts?: FinishedRun['counts'] };
}

export interface TraceOptions {
  kind: RunKind;
  /** How the job is named in its error: "run", "backfill", "reprocess". */
  noun: string;
  lockWaitMs: number;
  log: Logger;
  clock?: () => Date;
  /** False for a dry run: nothing is recorded, a failure included. */
  record?: boolean;
}

/** A job that failed on the database: runId names it (its pipeline_runs row may still say 'running' when the database went away). */
export class RunFailedError extends FxpipeError {
  constructor(
    readonly runId: string,
    readonly reason: string,
    message: string,
    cause: unknown,
    /** The failed run as its pipeline_runs row records it (or would: see unrecorded). */
    readonly run: FailedRun,
    /** The row is still to be written: the database failed to record it (a dry run records nothing, and so is false). */
    readonly unrecorded: boolean,
  ) {
    super(message, { cause });
  }
}

/** The warehouse's own failure inside a job, as opposed to a source's: the trace reports the database's message. */
export class DatabaseFailure extends Error {
  constructor(readonly error: unknown) {
    super(oneLine(error), { cause: error });
  }
}

export async function traceRun<T>(db: SessionDb, options: TraceOptions, job: (run: RunTrace) => Promise<T>): Promise<T> {
  const clock = options.clock ?? (() => new Date());
  const runId = randomUUID();
  const log = options.log.child({ runId });
  const startedAt = clock();
  const record = options.record ?? true;
  const timer = stageTimer();
  const trace: RunTrace = {
    runId,
    kind: options.kind,
    startedAt,
    clock,
    log,
    start: (on) => startRun(on, runId, options.kind, startedAt),
    lap: timer.lap,
    set: timer.set,
    stageMs: timer.result,
    failure: {},
  };
  const failedRun = (reason: string): FailedRun => ({
    runId,
    kind: options.kind,
    startedAt,
    finishedAt: clock(),
    error: `${reason}${trace.failure.where ?? ''}`,
    sourceUsed: trace.failure.sourceUsed ?? null,
    counts: trace.failure.counts ?? null,
    stageMs: timer.result(),
  });
  const fail = (reason: string, cause: unknown, run = failedRun(reason), unrecorded = false) =>
    new RunFailedError(runId, reason, `${options.noun} ${runId} failed${trace.failure.where ?? ''}: ${reason}`, cause, run, unrecorded);
  const lock = await holdRunLock(db, options.lockWaitMs).catch((error: unknown) => {
    if (error instanceof FxpipeError) throw error;
    throw fail(`database error: ${oneLine(error)}`, error);
  });
  timer.lap('lock');
  const done = markInProgress(runId);
  try {
    return await job(trace);
  } catch (error) {
    const cause = error instanceof DatabaseFailure ? error.error : error;
    // PostgreSQL's errors carry a severity; a lost connection has none but is the database's too.
    const what = (cause as { severity?: unknown } | null)?.severity !== undefined || isConnectionError(cause) ? 'database error: ' : '';
    const reason = `${what}${oneLine(cause)}`;
    // Debug only: the error thrown says it, in one line, to whoever called (a command prints it, the scheduler logs it).
    if (!(error instanceof FxpipeError))
      log.debug({ err: reason, where: trace.failure.where }, `${options.noun} failed; its open transaction rolled back`);
    const run = failedRun(reason);
    // A database that failed the job may fail this too: the error says so, for the caller to record it later.
    const unrecorded =
      record &&
      !(await recordFailedRun(db, run).then(
        () => true,
        () => false,
      ));
    // fxpipe's own errors (a usage error, another run holding the lock) already say what happened, in one line.
    throw error instanceof FxpipeError ? error : fail(reason, cause, run, unrecorded);
  } finally {
    done();
    await lock.release();
  }
}

function stageTimer(): { lap: (stage: Stage) => void; set: (stage: Stage, ms: number) => void; result: () => StageMs } {
  const start = performance.now();
  let last = start;
  const stages: StageMs = { lock: 0, extract: 0, normalize: 0, load: 0, refresh: 0, total: 0 };
  const round = (ms: number) => Math.round(ms * 10) / 10;
  return {
    lap(stage) {
      const now = performance.now();
      stages[stage] = round(now - last);
      last = now;
    },
    set(stage, ms) {
      stages[stage] = round(ms);
    },
    result() {
      stages.total = round(performance.now() - start);
      return { ...stages };
    },
  };
}
