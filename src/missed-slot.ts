import { notifyAfterRun, type AlertSettings } from './alerts/notify.js';
import { oneLine } from './errors.js';
import type { Logger } from './log.js';
import { RunFailedError, type RunResult } from './pipeline.js';
import type { MissedSlot, SlotOutcome } from './scheduler.js';
import type { Db } from './warehouse/db.js';
import { connectionFailure } from './warehouse/reconnect.js';
import { recordFailedRun } from './warehouse/runs.js';

/** Why the slot did not run, naming the database's failure: "database unreachable: connect ECONNREFUSED 127.0.0.1:5432". */
function missedSlotReason(error: unknown): string {
  const failure = connectionFailure(error) ?? error;
  const message = oneLine(failure);
  const code = (failure as { code?: unknown }).code;
  return `database unreachable: ${typeof code === 'string' && !message.includes(code) ? `${message} (${code})` : message}`;
}

/**
 * A scheduled slot the database's failure kept from running: a failed 'scheduled' run in pipeline_runs
 * with the reason, and the alerts of a failed run (run_failed, and stale ones when due).
 */
export async function recordMissedSlot(db: Db, missed: MissedSlot, alerts: AlertSettings, log: Logger): Promise<SlotOutcome> {
  // The run the pipeline began, when it got that far (its row may already exist, 'running'); else the slot's own id.
  const runId = missed.error instanceof RunFailedError ? missed.error.runId : missed.runId;
  const error = missedSlotReason(missed.error);
  const stageMs = { lock: 0, extract: 0, normalize: 0, load: 0, refresh: 0, total: missed.failedAt.getTime() - missed.startedAt.getTime() };
  await recordFailedRun(db, { runId, kind: 'scheduled', startedAt: missed.startedAt, finishedAt: missed.failedAt, error, sourceUsed: null, counts: null, stageMs });
  const result: RunResult = {
    runId,
    kind: 'scheduled',
    status: 'failed',
    dryRun: false,
    sourceUsed: null,
    failover: false,
    asOf: null,
    counts: { extracted: 0, loaded: 0, unchanged: 0, rejected: 0 },
    sources: [],
    flags: { zscore: [], referenceDeviations: [] },
    moves: [],
    stageMs,
    viewRefreshMs: {},
    startedAt: missed.startedAt.toISOString(),
    finishedAt: missed.failedAt.toISOString(),
    error,
  };
  await notifyAfterRun(db, alerts, result, log);
  return { runId, status: 'failed' };
}
