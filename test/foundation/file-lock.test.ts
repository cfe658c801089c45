import { existsSync, mkdirSync, utimesSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExitCode, FxpipeError } from '../../src/errors.js';
import { withFileLock } from '../../src/util/file-lock.js';
import { scratchDir } from '../helpers/database.js';

describe('the file lock', () => {
  it('a lock file that cannot be written is a one-line usage error naming it, not a raw errno', async () => {
    const lockPath = path.join(scratchDir(), 'missing', 'server.lock');
    const error = await withFileLock(lockPath, 1000, async () => 'ran').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FxpipeError);
    expect((error as FxpipeError).exitCode).toBe(ExitCode.usage);
    expect((error as FxpipeError).message).toMatch(
      new RegExp(`^cannot write the lock file ${lockPath.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: ENOENT`),
    );
  });

  it('runs the work while holding the lock (another waiter times out), and removes it after', async () => {
    const lockPath = path.join(scratchDir(), 'server.lock');
    const waiter = await withFileLock(lockPath, 1000, async () => {
      expect(existsSync(lockPath)).toBe(true);
      return withFileLock(lockPath, 300, async () => 'entered').catch((error: Error) => error.message);
    });
    expect(waiter).toBe(`timed out waiting for lock ${lockPath}`);
    expect(existsSync(lockPath)).toBe(false);
    await expect(withFileLock(lockPath, 1000, async () => 'again')).resolves.toBe('again');
  });

  it("a killed holder's lock goes stale and the waiters then take it one at a time, never together", async () => {
    const lockPath = path.join(scratchDir(), 'server.lock');
    // What a holder killed with -9 leaves: the lock directory, no longer refreshed.
    mkdirSync(lockPath);
    const past = new Date(Date.now() - 60_000);
    utimesSync(lockPath, past, past);
    const spans: [number, number][] = [];
    let holders = 0;
    let most = 0;
    const work = () =>
      withFileLock(lockPath, 20_000, async () => {
        most = Math.max(most, ++holders);
        const start = performance.now();
        await sleep(100);
        spans.push([start, performance.now()]);
        holders--;
      });
    // Eight waiters that all see the same stale lock: one removes it, and they then hold it one after another.
    await Promise.all(Array.from({ length: 8 }, work));
    expect(most).toBe(1);
    spans.sort((a, b) => a[0] - b[0]);
    expect(spans).toHaveLength(8);
    for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);
    expect(existsSync(lockPath)).toBe(false);
  });
});
