import { notifyFailedRun, type AlertSettings } from '../alerts/notify.js';
import { oneLine } from '../errors.js';
import type { Logger } from '../log.js';
import { RunFailedError } from './pipeline.js';
import type { MissedSlot, SlotOutcome } from './scheduler.js';
import { UnrecordedAlerts } from '../warehouse/alert-log.js';
import type { Db } from '../warehouse/db.js';
import { connectionFailure, isConnectionError } from '../warehouse/reconnect.js';
import { recordFailedRun, type FailedRun } from '../warehouse/runs.js';
import { sqlState } from '../warehouse/sqlstate.js';

/** Why the slot did not run, naming the database's failure: "database unreachable: connect ECONNREFUSED 127.0.0.1:5432". */
function missedSlotReason(error: unknown): string {
  const failure = connectionFailure(error) ?? error;
  const message = oneLine(failure);
  const code = sqlState(failure);
  return `database unreachable: ${code !== undefined && !message.includes(code) ? `${message} (${code})` : message}`;
}

/**
 * How `fxpipe schedule` tells of the runs the database failed, and of the slots it kept from running: run_failed is
 * sent at once, since the webhook needs no database; the failed run and the alerts' alert_log rows are recorded once
 * the database answers again (the scheduler retries), or, when it stops first, logged as never recorded.
 */
export class ScheduledFailures {
  readonly unrecorded = new UnrecordedAlerts();
  /** The run failures whose run_failed was sent already: the slot they leave missed does not send it again. */
  readonly #alerted = new WeakSet<object>();
  /** The missed slots (their instants) whose run_failed was sent: a slot two ticks both missed is alerted once. */
  readonly #alertedSlots = new Set<number>();
  /** Deliveries in flight for missed slots, awaited before the slot is recorded (their alert_log rows with it). */
  readonly #delivering = new Map<MissedSlot, Promise<unknown>>();

  constructor(
    private readonly alerts: AlertSettings,
    private readonly log: Logger,
  ) {}

  /**
   * A scheduled run the database failed: run_failed now, whatever the database does. A lost connection is worded as
   * the scheduler records the slot it leaves missed ("database unreachable: …"), and the run's row made to say the same
   * when the database still answers here; any other failure is the row's own ("database error: …").
   */
  async runFailed(db: Db, error: RunFailedError): Promise<void> {
    const run: FailedRun = isConnectionError(error) ? { ...error.run, error: missedSlotReason(error) } : error.run;
    if (run !== error.run || error.unrecorded) await recordFailedRun(db, run).catch(() => undefined);
    this.#alerted.add(error);
    await notifyFailedRun(db, this.alerts, run, this.log, { unrecorded: this.unrecorded });
  }

  /**
   * A slot just missed, the database failing: its run_failed at once, without the database (a run the database failed
   * on its way has sent its own). Its alert_log row waits for recordMissedSlot.
   */
  slotMissed(missed: MissedSlot): void {
    if (this.#alreadyAlerted(missed)) return;
    this.#alertedSlots.add(missed.slot.getTime());
    const delivering = notifyFailedRun(null, this.alerts, this.#missedRun(missed), this.log, { unrecorded: this.unrecorded });
    this.#delivering.set(missed, delivering);
    void delivering.finally(() => this.#delivering.delete(missed));
  }

  /**
   * A scheduled slot the database's failure kept from running (or from finishing): a failed 'scheduled' run in
   * pipeline_runs with the reason, and the alerts of a failed run (run_failed unless it went out already, and stale
   * ones when due); then the alert_log rows still unrecorded. Throws when the database fails again.
   */
  async recordMissedSlot(db: Db, missed: MissedSlot): Promise<SlotOutcome> {
    await this.#delivering.get(missed);
    const run = this.#missedRun(missed);
    await recordFailedRun(db, run);
    // run_failed, unless sent already; the stale alerts, which need the database, in any case.
    const alerted = this.#alreadyAlerted(missed);
    this.#alertedSlots.add(missed.slot.getTime());
    const alerts = alerted ? { ...this.alerts, alerts: this.alerts.alerts.filter((kind) => kind !== 'run_failed') } : this.alerts;
    await notifyFailedRun(db, alerts, run, this.log, { unrecorded: this.unrecorded });
    await this.unrecorded.record(db);
    return { runId: run.runId, status: 'failed' };
  }

  #alreadyAlerted(missed: MissedSlot): boolean {
    const { error } = missed;
    return this.#alertedSlots.has(missed.slot.getTime()) || (typeof error === 'object' && error !== null && this.#alerted.has(error));
  }

  /** The failed run a missed slot is recorded as. */
  #missedRun(missed: MissedSlot): FailedRun {
    // The run the pipeline began, when it got that far (its row may already exist, 'running'); else the slot's own id.
    const runId = missed.error instanceof RunFailedError ? missed.error.runId : missed.runId;
    const { startedAt, failedAt } = missed;
    const stageMs = { lock: 0, extract: 0, normalize: 0, load: 0, refresh: 0, total: failedAt.getTime() - startedAt.getTime() };
    const error = missedSlotReason(missed.error);
    return { runId, kind: 'scheduled', startedAt, finishedAt: failedAt, error, sourceUsed: null, counts: null, stageMs };
  }

  /** Records the alerts sent while the database failed; when it fails again, they wait for the next time. */
  async recordPending(db: Db): Promise<void> {
    if (this.unrecorded.size === 0) return;
    const recorded = await this.unrecorded.record(db).catch((error: unknown) => {
      this.log.warn({ err: oneLine(error), pending: this.unrecorded.size }, 'alerts sent while the database failed: not recorded yet');
      return 0;
    });
    if (recorded > 0) this.log.info({ recorded }, 'alerts sent while the database failed recorded in alert_log');
  }

  /** When the scheduler stops: each alert still unrecorded (once the deliveries in flight end), logged as such. */
  async abandon(): Promise<void> {
    await Promise.all(this.#delivering.values());
    for (const alert of this.unrecorded.drain()) {
      this.log.warn({ kind: alert.kind, runId: alert.runId }, 'stopped before the database answered: this alert was sent, not recorded');
    }
  }
}
