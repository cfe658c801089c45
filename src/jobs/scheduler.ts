import { randomUUID } from 'node:crypto';
import { Cron } from 'croner';
import pRetry from 'p-retry';
import { oneLine, usageError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Db, SessionDb } from '../warehouse/db.js';
import { isConnectionError } from '../warehouse/reconnect.js';
import { claimSlot, claimUnfinishedSlot, finishSlot, heartbeat, latestClaimedSlot, unregister } from '../warehouse/scheduler-state.js';

export interface SlotOutcome {
  runId: string | null;
  status: string;
}

/** A slot the database's failure kept from running (or from finishing). */
export interface MissedSlot {
  slot: Date;
  /** The id its failed run is recorded under (unless the run's error names its own). */
  runId: string;
  catchUp: boolean;
  /** When the scheduler began the slot, and when it gave up on it. */
  startedAt: Date;
  failedAt: Date;
  /** The failure: a connection error, or the run's error caused by one. */
  error: unknown;
}

export interface SchedulerOptions {
  cron: string;
  timezone: string;
  /** A database connection for the duration of fn (each slot and heartbeat gets its own); it locates the database anew when it cannot connect. */
  withDb<T>(fn: (db: SessionDb) => Promise<T>): Promise<T>;
  /** One run for a slot: the pipeline, then alerts. */
  runSlot(db: SessionDb, slot: Date, catchUp: boolean): Promise<SlotOutcome>;
  /** Records a missed slot as a failed run, with its alerts; called once the database answers again. */
  recordMissedSlot(db: Db, missed: MissedSlot): Promise<SlotOutcome>;
  /** Told at once of a missed slot, while the database may still be down (to alert without it). */
  onMissed?(missed: MissedSlot): void;
  log: Logger;
  heartbeatMs?: number;
}

/** Waits between attempts to record missed slots while the database stays down: 1 s, doubling to 30 s. */
const RECOVERY_BACKOFF = { minTimeout: 1000, maxTimeout: 30_000 };

/** Validates a cron pattern and time zone the way the scheduler will use them; throws a usage error. */
export function checkSchedule(cron: string, timezone: string): void {
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone });
  } catch {
    throw usageError(`invalid --timezone ${JSON.stringify(timezone)}: expected an IANA time zone such as UTC or Europe/Berlin`);
  }
  try {
    new Cron(cron, { timezone, paused: true }).stop();
  } catch (error) {
    throw usageError(`invalid --cron ${JSON.stringify(cron)}: ${oneLine(error)}`);
  }
}

/**
 * Repeats the pipeline on a cron. Never overlaps: within the process (one slot at a time), and across
 * processes and hosts (each slot is claimed in scheduler_slots by exactly one scheduler; runs also take
 * the run lock). After downtime it catches up once: one run for the latest missed slot, not one per slot.
 * stop() lets a run in progress finish (its transaction commits or rolls back), then returns.
 * A slot the database's failure kept from running is recorded as a failed run (and alerted) as soon as
 * the database answers again; meanwhile each slot and heartbeat tries to reach it afresh.
 */
export class Scheduler {
  readonly instanceId = randomUUID();
  readonly startedAt = new Date();
  #job: Cron | null = null;
  #current: Promise<void> | null = null;
  #heartbeat: NodeJS.Timeout | null = null;
  /** Heartbeats in flight: stop() waits for them, or one could re-insert the row it just deleted. */
  readonly #beats = new Set<Promise<void>>();
  #stopping = false;
  /** Missed slots not yet recorded, oldest first; #recovery records them, retrying with backoff. */
  readonly #missed: MissedSlot[] = [];
  #recovery: Promise<void> | null = null;
  #recording: Promise<void> | null = null;
  readonly #stopRecovery = new AbortController();

  constructor(private readonly options: SchedulerOptions) {
    checkSchedule(options.cron, options.timezone);
  }

  get stopping(): boolean {
    return this.#stopping;
  }

  get busy(): boolean {
    return this.#current !== null;
  }

  nextRun(): Date | null {
    return this.#job?.nextRun() ?? null;
  }

  async start(): Promise<void> {
    const { cron, timezone } = this.options;
    this.#job = new Cron(cron, { timezone, paused: true, protect: true }, () => this.#onTick());
    await this.#beat();
    await this.#catchUp();
    if (this.#stopping) return;
    this.#job.resume();
    this.#heartbeat = setInterval(() => void this.#beat(), this.options.heartbeatMs ?? 30_000);
    this.options.log.info({ instanceId: this.instanceId, cron, timezone, nextRun: this.nextRun()?.toISOString() }, 'scheduler started');
  }

  /** Stops scheduling; waits for the run in progress, if any. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#job?.stop();
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    if (this.#current) {
      this.options.log.info('stopping: waiting for the run in progress');
      await this.#current;
    }
    await Promise.all(this.#beats);
    this.#stopRecovery.abort();
    await this.#recovery;
    if (this.#missed.length > 0) {
      // One last try: the database may have come back during the wait the stop cut short.
      await this.options.withDb((db) => this.#recordMissed(db)).catch(() => undefined);
      for (const missed of this.#missed) {
        this.options.log.warn(
          { slot: missed.slot.toISOString(), err: oneLine(missed.error) },
          'stopped before the database answered: this missed slot is not recorded',
        );
      }
    }
    await this.options.withDb((db) => unregister(db, this.instanceId)).catch(() => undefined);
    this.options.log.info({ instanceId: this.instanceId }, 'scheduler stopped');
  }

  async #catchUp(): Promise<void> {
    const [latestSlot] = this.#job!.previousRuns(1, new Date());
    if (!latestSlot) return;
    const claimed = await this.options.withDb(latestClaimedSlot);
    if (claimed && claimed.getTime() >= latestSlot.getTime()) return;
    this.options.log.info(
      { slot: latestSlot.toISOString(), lastClaimed: claimed?.toISOString() ?? null },
      'catching up once for missed slots',
    );
    await this.#run(latestSlot, true);
  }

  #onTick(): void {
    // The slot is the scheduled instant, identical in every scheduler sharing this cron.
    const [slot] = this.#job!.previousRuns(1, new Date(Date.now() + 1000));
    if (slot && !this.#stopping) void this.#run(slot, false);
  }

  async #run(slot: Date, catchUp: boolean): Promise<void> {
    if (this.#current) {
      this.options.log.warn({ slot: slot.toISOString() }, 'previous run still in progress; slot skipped');
      return;
    }
    const startedAt = new Date();
    let runError: unknown = null;
    const work = this.options
      .withDb(async (db) => {
        // Earlier slots the database's failure kept from running are recorded first, in order.
        await this.#recordMissed(db).catch((error: unknown) =>
          this.options.log.warn({ err: oneLine(error) }, 'could not record missed slots yet'),
        );
        if (!(await claimSlot(db, slot, this.instanceId, catchUp))) {
          this.options.log.info({ slot: slot.toISOString() }, 'slot already claimed by another scheduler');
          return;
        }
        let outcome: SlotOutcome = { runId: null, status: 'failed' };
        try {
          outcome = await this.options.runSlot(db, slot, catchUp);
        } catch (error) {
          runError = error;
          // A run the database failed names itself (RunFailedError): the slot's outcome is that run.
          const runId = (error as { runId?: unknown }).runId;
          if (typeof runId === 'string') outcome = { runId, status: 'failed' };
          this.options.log.error({ slot: slot.toISOString(), err: oneLine(error) }, 'scheduled run failed');
        } finally {
          await finishSlot(db, slot, outcome.runId, outcome.status);
        }
      })
      // Only the database fails here (runSlot's errors are caught above): the slot could not be claimed, or
      // its run and outcome not recorded. Nothing recorded it yet.
      .catch((error: unknown) => {
        const cause = isConnectionError(runError) ? runError : error;
        this.#miss({ slot, runId: randomUUID(), catchUp, startedAt, failedAt: new Date(), error: cause });
      });
    this.#current = work;
    try {
      await work;
    } finally {
      this.#current = null;
      await this.#beat();
    }
  }

  #miss(missed: MissedSlot): void {
    this.#missed.push(missed);
    this.options.log.error(
      { slot: missed.slot.toISOString(), err: oneLine(missed.error) },
      'slot missed: the database failed; it is recorded as a failed run once the database answers',
    );
    this.options.onMissed?.(missed);
    this.#recovery ??= this.#recover();
  }

  /** Records the missed slots, retrying with backoff until the database answers or stop() aborts. */
  async #recover(): Promise<void> {
    try {
      await pRetry(() => this.options.withDb((db) => this.#recordMissed(db)), {
        retries: Infinity,
        ...RECOVERY_BACKOFF,
        signal: this.#stopRecovery.signal,
        onFailedAttempt: ({ error, attemptNumber }) =>
          this.options.log.warn(
            { err: oneLine(error), attempt: attemptNumber, missed: this.#missed.length },
            'database still failing; missed slots not recorded yet',
          ),
      });
    } catch {
      // Aborted by stop(), which makes a last attempt itself.
    } finally {
      this.#recovery = null;
    }
    // A slot missed while the last batch was being recorded.
    if (this.#missed.length > 0 && !this.#stopRecovery.signal.aborted) this.#recovery = this.#recover();
  }

  /** Records the missed slots on db; one pass at a time (a slot's run and the recovery loop may both try). */
  async #recordMissed(db: Db): Promise<void> {
    while (this.#missed.length > 0) {
      if (this.#recording) {
        await this.#recording.catch(() => undefined);
        continue;
      }
      this.#recording = this.#recordPass(db);
      try {
        await this.#recording;
      } finally {
        this.#recording = null;
      }
    }
  }

  async #recordPass(db: Db): Promise<void> {
    while (this.#missed.length > 0) {
      const missed = this.#missed[0]!;
      const slot = missed.slot.toISOString();
      if (await claimUnfinishedSlot(db, missed.slot, this.instanceId, missed.catchUp)) {
        const outcome = await this.options.recordMissedSlot(db, missed);
        await finishSlot(db, missed.slot, outcome.runId, outcome.status);
        this.options.log.info({ slot, runId: outcome.runId }, 'missed slot recorded as a failed run');
      } else {
        this.options.log.info({ slot }, 'missed slot already finished by another scheduler');
      }
      this.#missed.shift();
    }
  }

  async #beat(): Promise<void> {
    if (this.#stopping) return;
    const instance = { instanceId: this.instanceId, cron: this.options.cron, timezone: this.options.timezone, startedAt: this.startedAt };
    const beat = this.options
      .withDb((db) => heartbeat(db, instance, this.nextRun()))
      .catch((error: unknown) => this.options.log.warn({ err: oneLine(error) }, 'scheduler heartbeat failed'));
    this.#beats.add(beat);
    try {
      await beat;
    } finally {
      this.#beats.delete(beat);
    }
  }
}
