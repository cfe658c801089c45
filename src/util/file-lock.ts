import lockfile from 'proper-lockfile';
import { oneLine, usageError } from '../errors.js';

/** A holder that stops refreshing its lock (killed) loses it after this long; proper-lockfile's floor is 2 s. */
const STALE_MS = 4000;
const RETRY_MS = 100;

/**
 * Runs fn while holding an exclusive lock between fxpipe processes on this host: proper-lockfile's lock directory at
 * lockPath (an atomic mkdir), refreshed while fn runs, so a holder killed with -9 leaves a lock that goes stale and
 * exactly one waiter takes over. Waits up to timeoutMs.
 */
export async function withFileLock<T>(lockPath: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  let compromised: Error | undefined;
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(lockPath, {
      lockfilePath: lockPath,
      realpath: false,
      stale: STALE_MS,
      retries: { retries: Math.max(1, Math.ceil(timeoutMs / RETRY_MS)), factor: 1, minTimeout: RETRY_MS, maxTimeout: RETRY_MS },
      // The default throws from a timer, which would end the process mid-start: fail the work's end instead.
      onCompromised: (error) => {
        compromised = error;
      },
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOCKED') throw new Error(`timed out waiting for lock ${lockPath}`, { cause: error });
    throw usageError(`cannot write the lock file ${lockPath}: ${oneLine(error)}`, error);
  }
  try {
    const result = await fn();
    if (compromised) throw new Error(`lost the lock ${lockPath} while holding it: ${compromised.message}`, { cause: compromised });
    return result;
  } finally {
    await release().catch(() => undefined);
  }
}
