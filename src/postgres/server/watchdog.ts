import { spawn } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { packageRoot } from '../../util/package-root.js';
import { processAlive } from '../../util/process-alive.js';

/*
 * The reader watchdog of the embedded server: a detached fxpipe process (`fxpipe db watch-readers --embedded`) that
 * lives as long as the server does and stops reader queries past their limits (readers/reader-watchdog.ts). Started
 * with the server, and again by any fxpipe command that finds the server running without one.
 */

export function watchdogFiles(home: string): { pidFile: string; logFile: string } {
  return { pidFile: path.join(home, 'watchdog.pid'), logFile: path.join(home, 'watchdog.log') };
}

/** The running watchdog's pid, if one is alive. */
export async function runningWatchdog(home: string): Promise<number | null> {
  const pid = Number.parseInt((await readFile(watchdogFiles(home).pidFile, 'utf8').catch(() => '')).trim(), 10);
  return processAlive(pid) ? pid : null;
}

/** Starts the watchdog for the server under home unless one is alive. */
export async function ensureWatchdog(home: string): Promise<void> {
  if ((await runningWatchdog(home)) !== null) return;
  const { logFile } = watchdogFiles(home);
  const out = openSync(logFile, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o600);
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, FXPIPE_HOME: path.resolve(home) };
    delete env.DATABASE_URL;
    const child = spawn(process.execPath, [path.join(packageRoot, 'bin', 'fxpipe.js'), 'db', 'watch-readers', '--embedded'], {
      detached: true,
      stdio: ['ignore', out, out],
      env,
    });
    child.on('error', () => undefined);
    child.unref();
    // Recorded at once, so the next command (or a check) sees the watchdog before it has even started up.
    if (child.pid !== undefined) {
      await writeFile(`${watchdogFiles(home).pidFile}.${process.pid}`, `${child.pid}\n`);
      await rename(`${watchdogFiles(home).pidFile}.${process.pid}`, watchdogFiles(home).pidFile);
    }
  } finally {
    closeSync(out);
  }
}

/**
 * Makes this process the watchdog of home: true when the pid file names it (its starter wrote it) or it could create
 * the file; false when another live watchdog holds it. Of two started at once, the one named last stays.
 */
export async function claimWatchdog(home: string): Promise<boolean> {
  const { pidFile } = watchdogFiles(home);
  const holder = await runningWatchdog(home);
  if (holder === process.pid) return true;
  if (holder !== null) return false;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(pidFile, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = await runningWatchdog(home);
      if (holder !== null && holder !== process.pid) return false;
      await rm(pidFile, { force: true });
    }
  }
  return false;
}

/** True while home's pid file names this process. */
export async function stillWatchdog(home: string): Promise<boolean> {
  return (await runningWatchdog(home)) === process.pid;
}

export async function releaseWatchdog(home: string): Promise<void> {
  if (await stillWatchdog(home)) await rm(watchdogFiles(home).pidFile, { force: true });
}
