import { setTimeout as sleep } from 'node:timers/promises';
import { ExitCode, FxpipeError } from '../errors.js';
import type { Db } from './db.js';

/** One key for every loading job (run, backfill, reprocess): never two at once, across processes and hosts. */
const RUN_LOCK_KEY = '7710420337741550911';

/**
 * Takes the run lock for the current transaction, waiting up to waitMs. Released by commit, rollback,
 * or the connection dropping (a killed process), so it can never be left behind.
 */
export async function acquireRunLock(tx: Db, waitMs: number): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const [row] = await tx.query<{ locked: boolean }>('select pg_try_advisory_xact_lock($1::bigint) as locked', [RUN_LOCK_KEY]);
    if (row?.locked) return;
    if (Date.now() >= deadline) {
      throw new FxpipeError(`another run is in progress (waited ${Math.round(waitMs / 1000)} s for its lock)`, { exitCode: ExitCode.busy });
    }
    await sleep(Math.min(250, Math.max(10, deadline - Date.now())));
  }
}
