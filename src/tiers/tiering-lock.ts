import { ExitCode, FxpipeError } from '../errors.js';
import type { Db } from '../warehouse/db.js';

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
