import pRetry from 'p-retry';
import { ExitCode, FxpipeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Db } from '../warehouse/db.js';
import { hasSqlState, sqlState, SqlState } from '../warehouse/sqlstate.js';

/** One archive or restore at a time: a session lock, released at the end or when the connection drops (a killed process). */
const TIERING_LOCK = 'fxpipe.tiering';

export async function withTieringLock<T>(db: Db, fn: () => Promise<T>): Promise<T> {
  const [row] = await db.query<{ locked: boolean }>('select pg_try_advisory_lock(hashtext($1)) as locked', [TIERING_LOCK]);
  if (!row?.locked) throw new FxpipeError('another fxpipe archive or restore is in progress', { exitCode: ExitCode.busy });
  try {
    return await fn();
  } finally {
    await db.query('select pg_advisory_unlock(hashtext($1))', [TIERING_LOCK]).catch(() => undefined);
  }
}

/*
 * Archive and restore change fact_rates_history's partitions while readers read it. A reader takes ACCESS SHARE
 * locks in whatever order its query names the tables (api.usd_rate: dim_currency, then the history), so no single
 * lock order of ours avoids every cycle with them. What does: our transaction takes the locks readers can wait
 * for first, in a lock phase whose every wait is bounded (lock_timeout) so that the whole phase ends within half
 * the server's deadlock_timeout. Anyone who waits on us started waiting after the phase began, so when a cycle
 * forms we give up (SQLSTATE 55P03) and roll back before their deadlock check runs: the victim is never the
 * reader. After the phase we wait on nothing, and the transaction is retried with backoff.
 */

export type LockMode = 'access exclusive' | 'exclusive' | 'share row exclusive' | 'share update exclusive';

/** One LOCK TABLE of a lock phase: relation names from the catalog (quoted regclass text) or fixed ones. */
export interface TableLock {
  tables: readonly string[];
  mode: LockMode;
  /** The partitioned table alone, not its partitions. */
  only?: boolean;
}

/** Beyond this a wait holds readers up for longer than it helps. */
const MAX_LOCK_WAIT_MS = 250;

/** A deadlock, or a lock_timeout: the transaction gave way and may be retried. */
function gaveWay(error: unknown): boolean {
  return hasSqlState(error, SqlState.deadlock_detected, SqlState.lock_not_available);
}

/**
 * Sets the transaction's lock_timeout so that `waits` lock waits one after another end within half the server's
 * deadlock_timeout; returns the timeout in ms.
 */
async function boundLockWaits(tx: Db, waits: number): Promise<number> {
  const [row] = await tx.query<{ ms: string }>(
    `select (extract(epoch from current_setting('deadlock_timeout')::interval) * 1000)::text as ms`,
  );
  const ms = Math.max(1, Math.min(MAX_LOCK_WAIT_MS, Math.floor(Number(row?.ms) / 2 / Math.max(1, waits))));
  await tx.query(`select set_config('lock_timeout', $1, true)`, [`${ms}ms`]);
  return ms;
}

/** A step of a lock phase: a LOCK TABLE, or a statement that takes one lock (an advisory lock's function). */
export type LockStep = TableLock | { statement: string };

/** The lock phase: lock_timeout bounded for all of its waits, then each step in order. */
export async function lockInOrder(tx: Db, steps: readonly LockStep[]): Promise<void> {
  await boundLockWaits(
    tx,
    steps.reduce((n, step) => n + ('statement' in step ? 1 : step.tables.length), 0),
  );
  for (const step of steps) {
    if ('statement' in step) await tx.query(step.statement);
    else if (step.tables.length) await tx.query(`lock table ${step.only ? 'only ' : ''}${step.tables.join(', ')} in ${step.mode} mode`);
  }
}

/** How often a transaction that gave way is tried again: 10 attempts over 20 to 40 s of backoff. */
export const RETRIES = 9;
const BACKOFF = { minTimeout: 100, maxTimeout: 4000, factor: 2, randomize: true } as const;

/** The locks stayed busy through every attempt. */
export class LocksBusy extends FxpipeError {
  constructor(what: string, attempts: number, cause: unknown) {
    super(
      `could not take the locks to ${what} in ${attempts} attempts (readers or another job kept them; each attempt waits at most half of deadlock_timeout)`,
      { cause },
    );
    this.name = 'LocksBusy';
  }
}

/**
 * Runs attempt (one whole transaction) again, with backoff, each time it gave way; LocksBusy after the last.
 * retries: fewer for work that can wait for later (the drop of a detached partition).
 */
export async function retryGivingWay<T>(what: string, log: Logger, attempt: () => Promise<T>, retries = RETRIES): Promise<T> {
  try {
    return await pRetry(attempt, {
      ...BACKOFF,
      retries,
      shouldRetry: ({ error }) => gaveWay(error),
      onFailedAttempt: ({ error, attemptNumber }) => {
        if (gaveWay(error)) log.debug({ what, attempt: attemptNumber, code: sqlState(error) }, 'gave way to a lock holder; retrying');
      },
    });
  } catch (error) {
    if (gaveWay(error)) throw new LocksBusy(what, retries + 1, error);
    throw error;
  }
}
