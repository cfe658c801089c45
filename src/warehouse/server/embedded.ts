import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants, existsSync } from 'node:fs';
import { access, chmod, chown, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { userInfo } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import { usageError } from '../../errors.js';
import { processAlive, withFileLock } from '../../util/file-lock.js';
import { embeddedBinaries, type RunAs } from './binaries.js';

const run = promisify(execFile);

export const EMBEDDED_USER = 'fxpipe';
export const EMBEDDED_DATABASE = 'fxpipe';
export const START_TIMEOUT_S = 60;

export interface EmbeddedPaths {
  home: string;
  dataDir: string;
  passwordFile: string;
  lockFile: string;
  logFile: string;
}

export function embeddedPaths(home: string): EmbeddedPaths {
  const dataDir = path.join(home, 'pgdata');
  return {
    home,
    dataDir,
    passwordFile: path.join(home, 'password'),
    lockFile: path.join(home, 'server.lock'),
    logFile: path.join(dataDir, 'server.log'),
  };
}

export interface RunningServer {
  pid: number;
  port: number;
  status: string;
}

export interface EmbeddedConnection {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  url: string;
  /** True when this call started the server. */
  started: boolean;
}

/** What postmaster.pid says about the server on this data directory, if one is alive. */
export async function readRunning(dataDir: string): Promise<RunningServer | null> {
  const text = await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8').catch(() => null);
  if (text === null) return null;
  const lines = text.split('\n');
  const pid = Number.parseInt(lines[0] ?? '', 10);
  const port = Number.parseInt(lines[3] ?? '', 10);
  if (!processAlive(pid)) return null;
  return { pid, port, status: (lines[7] ?? 'starting').trim() || 'starting' };
}

/**
 * Returns a connection to the embedded server under home, initialising and starting it when needed.
 * Safe across processes: a lock file serialises initialisation and start, the data directory appears
 * only once fully initialised, and the server runs detached so a killed command does not take it down.
 */
export async function ensureEmbedded(home: string): Promise<EmbeddedConnection> {
  const paths = embeddedPaths(home);
  await prepareHome(home);
  const running = await readRunning(paths.dataDir);
  if (running?.status === 'ready' && existsSync(paths.passwordFile)) {
    return connectionFor(paths, running.port, false);
  }
  return withFileLock(paths.lockFile, 3 * START_TIMEOUT_S * 1000, async () => {
    if (!existsSync(paths.dataDir)) await initialise(paths);
    if (!existsSync(paths.passwordFile)) {
      throw usageError(`${paths.passwordFile} is missing: the embedded server's password is lost (move ${paths.dataDir} away to start afresh)`);
    }
    const current = await waitWhileTransient(paths.dataDir);
    if (current) return connectionFor(paths, current.port, false);
    const port = await startServer(paths);
    return connectionFor(paths, port, true);
  });
}

/** Stops the embedded server under home; false when none was running. */
export async function stopEmbedded(home: string): Promise<boolean> {
  const paths = embeddedPaths(home);
  if (!existsSync(paths.dataDir)) return false;
  return withFileLock(paths.lockFile, 3 * START_TIMEOUT_S * 1000, async () => {
    const running = await waitWhileTransient(paths.dataDir);
    if (!running) return false;
    const owner = await runAs();
    const bin = await embeddedBinaries(owner);
    await run(bin.pg_ctl, ['stop', '-D', paths.dataDir, '-m', 'fast', '-w', '-t', String(START_TIMEOUT_S), '-s'], owner);
    return true;
  });
}

async function connectionFor(paths: EmbeddedPaths, port: number, started: boolean): Promise<EmbeddedConnection> {
  const password = (await readFile(paths.passwordFile, 'utf8')).trim();
  const host = '127.0.0.1';
  const url = `postgresql://${EMBEDDED_USER}:${encodeURIComponent(password)}@${host}:${port}/${EMBEDDED_DATABASE}`;
  return { host, port, user: EMBEDDED_USER, password, database: EMBEDDED_DATABASE, url, started };
}

async function prepareHome(home: string): Promise<void> {
  try {
    await mkdir(home, { recursive: true, mode: 0o711 });
    await access(home, constants.W_OK | constants.X_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw usageError(`FXPIPE_HOME ${home} is not a writable directory (${code})`, error);
  }
}

/** Waits out a server that is starting or stopping (e.g. left by a killed command); returns it once ready. */
async function waitWhileTransient(dataDir: string): Promise<RunningServer | null> {
  const deadline = Date.now() + START_TIMEOUT_S * 1000;
  for (;;) {
    const running = await readRunning(dataDir);
    if (!running || running.status === 'ready') return running;
    if (Date.now() > deadline) throw new Error(`the embedded server (pid ${running.pid}) stayed "${running.status}" for ${START_TIMEOUT_S}s`);
    await sleep(100);
  }
}

/** PostgreSQL refuses to run as root: as root, the server runs as the postgres system user. */
let serverUser: Promise<RunAs> | undefined;
export function runAs(): Promise<RunAs> {
  return (serverUser ??= lookUpServerUser());
}

async function lookUpServerUser(): Promise<RunAs> {
  if (userInfo().uid !== 0) return {};
  const id = async (flag: string) => Number.parseInt((await run('id', [flag, 'postgres'])).stdout, 10);
  try {
    return { uid: await id('-u'), gid: await id('-g') };
  } catch {
    await run('useradd', ['--system', '--user-group', '--no-create-home', 'postgres']);
    return { uid: await id('-u'), gid: await id('-g') };
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * initdb into a scratch directory, create the fxpipe database there, then rename it into place:
 * a kill at any point leaves either no data directory or a complete one.
 */
async function initialise(paths: EmbeddedPaths): Promise<void> {
  const owner = await runAs();
  const bin = await embeddedBinaries(owner);
  await removeAbandonedScratch(paths.home);
  const scratch = path.join(paths.home, `pgdata.init-${process.pid}`);
  const pwfile = path.join(paths.home, `.password.init-${process.pid}`);
  await rm(scratch, { recursive: true, force: true });
  const password = randomBytes(24).toString('base64url');
  await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
  await mkdir(scratch, { mode: 0o700 });
  if (owner.uid !== undefined) {
    await chown(pwfile, owner.uid, owner.gid ?? owner.uid);
    await chown(scratch, owner.uid, owner.gid ?? owner.uid);
  }
  try {
    await run(
      bin.initdb,
      [`--pgdata=${scratch}`, '--auth=scram-sha-256', `--username=${EMBEDDED_USER}`, `--pwfile=${pwfile}`,
        '--encoding=UTF8', '--no-locale', '--no-instructions'],
      { ...owner, env: { ...process.env, LC_ALL: 'C' } },
    ).catch((error: { stderr?: string }) => {
      throw usageError(`could not initialise the embedded PostgreSQL in ${scratch}: ${lastLine(error.stderr)}${rootHint(owner)}`, error);
    });
    await writeFile(
      path.join(scratch, 'postgresql.conf'),
      [
        '',
        '# fxpipe: loopback TCP only, no Unix socket (nothing to collide with in /tmp).',
        "listen_addresses = '127.0.0.1'",
        "unix_socket_directories = ''",
        "password_encryption = 'scram-sha-256'",
        '',
      ].join('\n'),
      { flag: 'a' },
    );
    await chmod(scratch, 0o700);
    const port = await startServer({ ...paths, dataDir: scratch, logFile: path.join(scratch, 'server.log') });
    const client = new pg.Client({ host: '127.0.0.1', port, user: EMBEDDED_USER, password, database: 'postgres' });
    await client.connect();
    try {
      await client.query(`create database ${EMBEDDED_DATABASE}`);
    } finally {
      await client.end();
    }
    await run(bin.pg_ctl, ['stop', '-D', scratch, '-m', 'fast', '-w', '-s'], owner);
    await writeFile(`${paths.passwordFile}.tmp`, `${password}\n`, { mode: 0o600 });
    await rename(`${paths.passwordFile}.tmp`, paths.passwordFile);
    await rename(scratch, paths.dataDir);
  } finally {
    await rm(pwfile, { force: true });
  }
}

async function removeAbandonedScratch(home: string): Promise<void> {
  for (const entry of await readdir(home)) {
    const match = /^(?:pgdata|\.password)\.init-(\d+)$/.exec(entry);
    if (!match || processAlive(Number(match[1]))) continue;
    const scratch = path.join(home, entry);
    // The killed command's initdb, pg_ctl or postgres may outlive it and still be writing there.
    await killProcessesMentioning(scratch);
    await rm(scratch, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }).catch(() => undefined);
  }
}

/** SIGKILLs the processes whose command line names path (Linux /proc); elsewhere a no-op. */
async function killProcessesMentioning(target: string): Promise<void> {
  const pids = await readdir('/proc').catch(() => [] as string[]);
  for (const pid of pids.filter((p) => /^\d+$/.test(p))) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(target)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  await sleep(100);
}

/** Starts the server detached (pg_ctl puts it in its own session) on a free loopback port; returns the port. */
async function startServer(paths: EmbeddedPaths): Promise<number> {
  const owner = await runAs();
  const bin = await embeddedBinaries(owner);
  let lastError = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    try {
      await run(
        bin.pg_ctl,
        ['start', '-D', paths.dataDir, '-l', paths.logFile, '-w', '-t', String(START_TIMEOUT_S), '-s', '-o', `-p ${port}`],
        { ...owner, env: { ...process.env, LC_ALL: 'C' } },
      );
      return port;
    } catch (error) {
      lastError = lastLine((error as { stderr?: string }).stderr) || (await logTail(paths.logFile));
      const running = await readRunning(paths.dataDir);
      if (running?.status === 'ready') return running.port;
    }
  }
  throw usageError(`could not start the embedded PostgreSQL in ${paths.dataDir}: ${lastError}`);
}

async function logTail(logFile: string): Promise<string> {
  const text = await readFile(logFile, 'utf8').catch(() => '');
  return lastLine(text.split('\n').filter((line) => /FATAL|ERROR/.test(line)).join('\n'));
}

function lastLine(text: string | undefined): string {
  return (text ?? '').trim().split('\n').filter(Boolean).pop()?.trim() ?? '';
}

function rootHint(owner: { uid?: number }): string {
  return owner.uid === undefined
    ? ''
    : ' (running as root, the server runs as user postgres: every directory above FXPIPE_HOME must be searchable by it)';
}
