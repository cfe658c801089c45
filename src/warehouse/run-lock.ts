import { ExitCode, FxpipeError } from '../errors.js';
import type { Db, SessionDb } from './db.js';
import { hasSqlState, SqlState } from './sqlstate.js';

/**
 * One lock for every loading job (run, backfill, reprocess, archive and restore months): never two at
 * once, across processes and hosts. It is a row lock on fxpipe_run_lock, a table only the warehouse's
 * own role can update, so a reader role cannot take it (any role can take an advisory lock).
 * Released by commit, rollback, or the connection dropping (a killed process): it is never left behind.
 */
const LOCK_ROW = 'run';

/** Takes the run lock for the current transaction, waiting up to waitMs; exit code 3 when another job keeps it. */
export async function acquireRunLock(tx: Db, waitMs: number): Promise<void> {
  const [previous] = await tx.query<{ timeout: string }>(`select current_setting('lock_timeout') as timeout`);
  try {
    if (waitMs > 0) await tx.query(`select set_config('lock_timeout', $1, true)`, [`${Math.ceil(waitMs)}ms`]);
    await tx.query(`select 1 from fxpipe_run_lock where lock_name = $1 for update${waitMs > 0 ? '' : ' nowait'}`, [LOCK_ROW]);
  } catch (error) {
    if (hasSqlState(error, SqlState.lock_not_available)) {
      throw new FxpipeError(`another run is in progress (waited ${Math.round(waitMs / 1000)} s for its lock)`, {
        exitCode: ExitCode.busy,
        cause: error,
      });
    }
    throw error;
  }
  await tx.query(`select set_config('lock_timeout', $1, true)`, [previous?.timeout ?? '0']);
}

/** The run lock held for a job's whole life, on a connection of its own (the job's transactions commit on theirs). */
export interface HeldRunLock {
  release(): Promise<void>;
}

/** Lock sessions whose transaction holds the lock now: a second job on the same Db would otherwise share it. */
const holding = new WeakSet<Db>();

export async function holdRunLock(db: SessionDb, waitMs: number): Promise<HeldRunLock> {
  const session = await db.lockSession();
  if (holding.has(session)) throw new FxpipeError('another run is in progress (in this process)', { exitCode: ExitCode.busy });
  holding.add(session);
  const rollback = () =>
    session
      .query('rollback')
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => holding.delete(session));
  try {
    await session.query('begin');
    await acquireRunLock(session, waitMs);
  } catch (error) {
    await rollback();
    throw error;
  }
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      await rollback();
    },
  };
}

/** Whether some job holds the run lock now (its transaction holds ROW SHARE on the lock table); takes nothing. */
export async function runLockHeld(db: Db): Promise<boolean> {
  const [row] = await db.query<{ held: boolean }>(
    `select exists (
              select 1 from pg_locks
               where locktype = 'relation' and granted and mode = 'RowShareLock'
                 and database = (select oid from pg_database where datname = current_database())
                 and relation = to_regclass('fxpipe_run_lock')) as held`,
  );
  return row?.held ?? false;
}
