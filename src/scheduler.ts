import { randomUUID } from 'node:crypto';
import { Cron } from 'croner';
import { oneLine, usageError } from './errors.js';
import type { Logger } from './log.js';
import type { Db } from './warehouse/db.js';
import { claimSlot, finishSlot, heartbeat, latestClaimedSlot, unregister } from './warehouse/scheduler-state.js';

export interface SlotOutcome {
  runId: string | null;
  status: string;
}

export interface SchedulerOptions {
  cron: string;
  timezone: string;
  /** A database connection for the duration of fn (each slot and heartbeat gets its own). */
  withDb<T>(fn: (db: Db) => Promise<T>): Promise<T>;
  /** One run for a slot: the pipeline, then alerts. */
  runSlot(db: Db, slot: Date, catchUp: boolean): Promise<SlotOutcome>;
  log: Logger;
  heartbeatMs?: number;
}

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
    await this.options.withDb((db) => unregister(db, this.instanceId)).catch(() => undefined);
    this.options.log.info({ instanceId: this.instanceId }, 'scheduler stopped');
  }

  async #catchUp(): Promise<void> {
    const [latestSlot] = this.#job!.previousRuns(1, new Date());
    if (!latestSlot) return;
    const claimed = await this.options.withDb(latestClaimedSlot);
    if (claimed && claimed.getTime() >= latestSlot.getTime()) return;
    this.options.log.info({ slot: latestSlot.toISOString(), lastClaimed: claimed?.toISOString() ?? null }, 'catching up once for missed slots');
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
    const work = this.options
      .withDb(async (db) => {
        if (!(await claimSlot(db, slot, this.instanceId, catchUp))) {
          this.options.log.info({ slot: slot.toISOString() }, 'slot already claimed by another scheduler');
          return;
        }
        let outcome: SlotOutcome = { runId: null, status: 'failed' };
        try {
          outcome = await this.options.runSlot(db, slot, catchUp);
        } catch (error) {
          this.options.log.error({ slot: slot.toISOString(), err: oneLine(error) }, 'scheduled run failed');
        } finally {
          await finishSlot(db, slot, outcome.runId, outcome.status);
        }
      })
      .catch((error: unknown) => this.options.log.error({ slot: slot.toISOString(), err: oneLine(error) }, 'scheduled run failed'));
    this.#current = work;
    try {
      await work;
    } finally {
      this.#current = null;
      await this.#beat();
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
