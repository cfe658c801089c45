import { open, readFile, rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { oneLine, usageError } from '../errors.js';

/** True when a process with this pid exists (signal 0 probes without signalling). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs fn while holding an exclusive lock file between fxpipe processes on this host.
 * The file holds the owner's pid; a lock whose owner died (kill -9) is taken over.
 */
export async function withFileLock<T>(lockPath: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx', 0o600);
      try {
        await handle.writeFile(String(process.pid));
      } catch (error) {
        // A full disk: the empty file would read as a lock left by a kill.
        await rm(lockPath, { force: true });
        throw error;
      } finally {
        await handle.close();
      }
      break;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') throw usageError(`cannot write the lock file ${lockPath}: ${oneLine(error)}`, error);
      const owner = Number.parseInt(await readFile(lockPath, 'utf8').catch(() => ''), 10);
      if (Number.isNaN(owner)) {
        // Created but not yet written by its owner, or left empty by a kill: give the owner a moment.
        await sleep(50);
        const again = await readFile(lockPath, 'utf8').catch(() => null);
        if (again === '') await rm(lockPath, { force: true });
        continue;
      }
      if (!processAlive(owner)) {
        await rm(lockPath, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for lock ${lockPath} held by pid ${owner}`);
      await sleep(100);
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lockPath, { force: true });
  }
}
