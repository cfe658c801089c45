import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { RunAs } from './binaries.js';
import { createFile, ownDirectory } from './no-follow.js';

const run = promisify(execFile);

/**
 * Under root the server runs as the postgres system user, which cannot reach a FXPIPE_HOME below a
 * private directory (a checkout in root's 0700 home). Rather than loosen anyone's directories, the
 * server's files then live here: persistent (not /tmp), root-owned, and each home's directory
 * private to the server's user. The relocated binaries live here too.
 */
export const ROOT_STATE_DIR = '/var/lib/fxpipe';

/** ROOT_STATE_DIR, created when missing; root-owned and searchable so the server's user reaches its own directory. */
export async function rootStateDir(): Promise<string> {
  await mkdir(ROOT_STATE_DIR, { recursive: true, mode: 0o755 });
  await chmod(ROOT_STATE_DIR, 0o755);
  return ROOT_STATE_DIR;
}

/** The server's directory for the FXPIPE_HOME at realHome (its real path): stable, one per home. */
export function serverDirOf(realHome: string): string {
  return path.join(ROOT_STATE_DIR, createHash('sha256').update(realHome).digest('hex').slice(0, 16));
}

/** Creates dir for the server's user only (mode 0700), with a note naming the home it serves. */
export async function prepareServerDir(dir: string, realHome: string, owner: Required<RunAs>): Promise<void> {
  await rootStateDir();
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await ownDirectory(dir, owner, 0o700);
  await createFile(path.join(dir, 'fxpipe-home'), `${realHome}\n`, 0o644);
}

/** True when owner can search (traverse into) dir, every directory above it included. */
export async function searchableBy(dir: string, owner: RunAs): Promise<boolean> {
  try {
    await run('/bin/sh', ['-c', 'test -x "$1"', 'sh', dir], owner);
    return true;
  } catch {
    return false;
  }
}
