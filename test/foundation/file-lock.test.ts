import { existsSync, readFileSync } from 'node:fs';
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
    expect((error as FxpipeError).message).toMatch(new RegExp(`^cannot write the lock file ${lockPath.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: ENOENT`));
  });

  it('runs the work while holding the lock, and removes it after', async () => {
    const lockPath = path.join(scratchDir(), 'server.lock');
    expect(await withFileLock(lockPath, 1000, async () => readFileSync(lockPath, 'utf8'))).toBe(String(process.pid));
    expect(existsSync(lockPath)).toBe(false);
    await expect(withFileLock(lockPath, 1000, async () => 'again')).resolves.toBe('again');
  });
});
