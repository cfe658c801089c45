import { constants } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import type { RunAs } from './binaries.js';

/*
 * Under root, fxpipe writes into directories the server's user (postgres) owns. That user could have
 * put a symlink where root expects a file, to make root write, chown or chmod something else; so
 * these never follow a symlink in the last component (callers pass paths whose other components
 * only root or the home's owner can change).
 */

const { O_WRONLY, O_RDONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_DIRECTORY } = constants;

/** Creates file afresh (replacing what was there) with text, mode, and owner's ownership. */
export async function createFile(file: string, text: string, mode: number, owner: RunAs = {}): Promise<void> {
  await rm(file, { force: true });
  const handle = await open(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
  try {
    await handle.writeFile(text);
    if (owner.uid !== undefined) await handle.chown(owner.uid, owner.gid ?? owner.uid);
  } finally {
    await handle.close();
  }
}

/** Gives the directory dir (not a symlink) to owner with mode. */
export async function ownDirectory(dir: string, owner: RunAs, mode: number): Promise<void> {
  const handle = await open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  try {
    if (owner.uid !== undefined) await handle.chown(owner.uid, owner.gid ?? owner.uid);
    await handle.chmod(mode);
  } finally {
    await handle.close();
  }
}

export async function readFileNoFollow(file: string): Promise<string> {
  const handle = await open(file, O_RDONLY | O_NOFOLLOW);
  try {
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}
