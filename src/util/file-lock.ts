import { lstat, mkdir, readdir, rmdir, utimes } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { oneLine, usageError } from '../errors.js';

/** A holder that stops refreshing its lock (killed) loses it after this long. */
const STALE_MS = 4000;
const REFRESH_MS = 1000;
const RETRY_MS = 100;
/** Claims (below) are kept this long after their lock went, then swept. */
const CLAIM_KEPT_MS = 10 * 60_000;

/**
 * Runs fn while holding an exclusive lock between fxpipe processes on this host: a directory made at lockPath (mkdir
 * is atomic), its mtime refreshed while fn runs. A holder killed with -9 stops refreshing, and its lock goes stale.
 * Exactly one waiter then removes it: the one that makes the claim directory named after that lock (its inode and
 * mtime), another atomic mkdir. Waiters that saw the same stale lock find the claim made and wait on.
 * proper-lockfile, used before, stats the lock and removes it when stale, so two waiters that both saw it stale both
 * removed it (the second removing the first's new lock) and both went on: the suite caught it holding twice.
 * Waits up to timeoutMs.
 */
export async function withFileLock<T>(lockPath: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  const ours = await acquire(lockPath, Date.now() + timeoutMs);
  let compromised: Error | undefined;
  const refresh = setInterval(() => {
    const now = new Date();
    utimes(lockPath, now, now).catch((error: unknown) => (compromised ??= error as Error));
  }, REFRESH_MS);
  try {
    const result = await fn();
    if (compromised) throw new Error(`lost the lock ${lockPath} while holding it: ${oneLine(compromised)}`, { cause: compromised });
    return result;
  } finally {
    clearInterval(refresh);
    // Only our own lock: one taken over after this process stalled belongs to its new holder.
    const now = await lstat(lockPath).catch(() => null);
    if (now?.ino === ours) await rmdir(lockPath).catch(() => undefined);
  }
}

/** Makes the lock directory, waiting until the deadline; returns its inode. */
async function acquire(lockPath: string, deadline: number): Promise<number> {
  for (;;) {
    try {
      await mkdir(lockPath);
      return (await lstat(lockPath)).ino;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST')
        throw usageError(`cannot write the lock file ${lockPath}: ${oneLine(error)}`, error);
    }
    await removeIfStale(lockPath);
    if (Date.now() >= deadline) throw new Error(`timed out waiting for lock ${lockPath}`);
    await sleep(RETRY_MS);
  }
}

async function removeIfStale(lockPath: string): Promise<void> {
  const held = await lstat(lockPath).catch(() => null);
  if (!held || Date.now() - held.mtimeMs < STALE_MS) return;
  try {
    await mkdir(`${lockPath}.stale-${held.ino}-${Math.round(held.mtimeMs)}`);
  } catch {
    return; // another waiter claimed this stale lock
  }
  await rmdir(lockPath).catch(() => undefined);
  await sweepClaims(lockPath);
}

async function sweepClaims(lockPath: string): Promise<void> {
  const dir = path.dirname(lockPath);
  const prefix = `${path.basename(lockPath)}.stale-`;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!name.startsWith(prefix)) continue;
    const claim = path.join(dir, name);
    const made = await lstat(claim).catch(() => null);
    if (made && Date.now() - made.mtimeMs > CLAIM_KEPT_MS) await rmdir(claim).catch(() => undefined);
  }
}
