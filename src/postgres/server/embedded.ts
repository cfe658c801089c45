import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants, existsSync, lstatSync, readlinkSync } from 'node:fs';
import { access, mkdir, readdir, readFile, realpath, rename, rm, symlink, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { userInfo } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import { usageError } from '../../errors.js';
import { createClosedDatabase } from '../../warehouse/databases.js';
import { withFileLock } from '../../util/file-lock.js';
import { processAlive } from '../../util/process-alive.js';
import { embeddedBinaries, type RunAs } from './binaries.js';
import { createFile, ownDirectory } from './no-follow.js';
import { setRemoteAccess } from './pg-hba.js';
import { prepareServerDir, searchableBy, serverDirOf } from './root-state.js';
import { logSize, pgCtlSaid, portWasTaken, serverFailure } from './server-log.js';
import { ensureCertificate, installForServer } from './tls.js';
import { ensureWatchdog } from './watchdog.js';

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
  /** The port the server keeps across stops and starts: the one it first started on, or the one chosen. */
  portFile: string;
}

export interface EmbeddedOptions {
  /** The port to start on (FXPIPE_PORT, `db start --port`); else the recorded one, else a free one, then recorded. */
  port?: number;
  /** Names for the certificate fxpipe makes when it has none yet, besides this machine's (`db start --listen` passes its address). */
  certificateNames?: string[];
}

/**
 * The files of the embedded server under home. FXPIPE_HOME/pgdata is the data directory, or a symlink
 * to it when it lives elsewhere (under root, see root-state.ts): dataDir is then the link's target,
 * the path the server's user can reach.
 */
export function embeddedPaths(home: string): EmbeddedPaths {
  const link = path.join(home, 'pgdata');
  const dataDir = linkTarget(link) ?? link;
  return {
    home,
    dataDir,
    passwordFile: path.join(home, 'password'),
    lockFile: path.join(home, 'server.lock'),
    logFile: path.join(dataDir, 'server.log'),
    portFile: path.join(home, 'port'),
  };
}

function linkTarget(link: string): string | null {
  try {
    return lstatSync(link).isSymbolicLink() ? path.resolve(path.dirname(link), readlinkSync(link)) : null;
  } catch {
    return null;
  }
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
  /**
   * True when the server speaks TLS (every server fxpipe starts does): fxpipe's own connections then use it, as they must
   * while it listens beyond loopback. Not verified on loopback: SCRAM already proves the server knows the password.
   */
  tls: boolean;
  /** True when this call started the server. */
  started: boolean;
}

/** The postgres options of a start: TLS on (TLS 1.2 at least), the port, and listen_addresses when listening beyond loopback. */
export function serverOptions(port: number, listenAddresses?: string): string {
  // pg_ctl runs the postmaster through a shell: listenAddresses holds only validated address characters, quoted.
  return [`-p ${port}`, '-c ssl=on', '-c ssl_min_protocol_version=TLSv1.2', ...(listenAddresses ? [`-h '${listenAddresses}'`] : [])].join(
    ' ',
  );
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
export async function ensureEmbedded(home: string, options: EmbeddedOptions = {}): Promise<EmbeddedConnection> {
  await prepareHome(home);
  const seen = embeddedPaths(home);
  const running = await readRunning(seen.dataDir);
  if (running?.status === 'ready' && existsSync(seen.passwordFile)) {
    await ensureWatchdog(home);
    return connectionFor(seen, running.port, false);
  }
  return withFileLock(seen.lockFile, 3 * START_TIMEOUT_S * 1000, async () => {
    // Read again under the lock: the process that held it may have just made the data directory.
    let paths = embeddedPaths(home);
    if (!existsSync(paths.dataDir)) {
      await initialise(paths);
      paths = embeddedPaths(home);
    }
    if (!existsSync(paths.passwordFile)) {
      throw usageError(
        `${paths.passwordFile} is missing: the embedded server's password is lost (move ${paths.dataDir} away to start afresh)`,
      );
    }
    const current = await waitWhileTransient(paths.dataDir);
    const port =
      current?.port ?? (await startServer(paths, undefined, await portToStartOn(paths, options), true, options.certificateNames));
    await ensureWatchdog(home);
    return connectionFor(paths, port, !current);
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
  return { host, port, user: EMBEDDED_USER, password, database: EMBEDDED_DATABASE, url, tls: await speaksTls(paths.dataDir), started };
}

/** The connection to the server running under home, without starting one: null when none is ready. */
export async function runningConnection(home: string): Promise<EmbeddedConnection | null> {
  const paths = embeddedPaths(home);
  const running = await readRunning(paths.dataDir);
  if (running?.status !== 'ready' || !existsSync(paths.passwordFile)) return null;
  return connectionFor(paths, running.port, false);
}

/** Whether the running server was started with TLS on (postmaster.opts holds its command line); a server an older fxpipe started may not be. */
async function speaksTls(dataDir: string): Promise<boolean> {
  const opts = await readFile(path.join(dataDir, 'postmaster.opts'), 'utf8').catch(() => '');
  return /\bssl=on\b/.test(opts);
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
    if (Date.now() > deadline)
      throw new Error(`the embedded server (pid ${running.pid}) stayed "${running.status}" for ${START_TIMEOUT_S}s`);
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
 * Where a new data directory goes: FXPIPE_HOME itself, unless fxpipe runs as root and the server's
 * user cannot reach it; then a directory of its own under /var/lib/fxpipe (root-state.ts). A directory
 * there already holding data is never reused: it may still belong to this home moved elsewhere.
 */
async function serverDirFor(home: string, owner: RunAs): Promise<string> {
  if (owner.uid === undefined || (await searchableBy(home, owner))) return home;
  const realHome = await realpath(home);
  const base = serverDirOf(realHome);
  for (let n = 1; ; n++) {
    const dir = n === 1 ? base : `${base}-${n}`;
    if (existsSync(path.join(dir, 'pgdata'))) continue;
    await prepareServerDir(dir, realHome, { uid: owner.uid, gid: owner.gid ?? owner.uid });
    return dir;
  }
}

/**
 * initdb into a scratch directory, create the fxpipe database there, then rename it into place:
 * a kill at any point leaves either no data directory or a complete one. When the data directory
 * lives outside FXPIPE_HOME, FXPIPE_HOME/pgdata becomes a symlink to it before it is renamed into place.
 */
async function initialise(paths: EmbeddedPaths): Promise<void> {
  const owner = await runAs();
  const bin = await embeddedBinaries(owner);
  const serverDir = await serverDirFor(paths.home, owner);
  const link = path.join(paths.home, 'pgdata');
  const dataDir = path.join(serverDir, 'pgdata');
  await removeAbandonedScratch(paths.home);
  if (serverDir !== paths.home) await removeAbandonedScratch(serverDir);
  const scratch = path.join(serverDir, `pgdata.init-${process.pid}`);
  const pwfile = path.join(serverDir, `.password.init-${process.pid}`);
  await rm(scratch, { recursive: true, force: true });
  const password = randomBytes(24).toString('base64url');
  try {
    await createFile(pwfile, `${password}\n`, 0o600, owner);
    await mkdir(scratch, { mode: 0o700 });
    await ownDirectory(scratch, owner, 0o700);
    await run(
      bin.initdb,
      [
        `--pgdata=${scratch}`,
        '--auth=scram-sha-256',
        `--username=${EMBEDDED_USER}`,
        `--pwfile=${pwfile}`,
        '--encoding=UTF8',
        '--no-locale',
        '--no-instructions',
        // Loopback TCP only, no Unix socket (nothing to collide with in /tmp); written by initdb as the server's user.
        '--set=listen_addresses=127.0.0.1',
        '--set=unix_socket_directories=',
        '--set=password_encryption=scram-sha-256',
      ],
      { ...owner, env: { ...process.env, LC_ALL: 'C' } },
    ).catch((error: { stderr?: string }) => {
      const said = lastLine(error.stderr);
      throw usageError(`could not initialise the embedded PostgreSQL in ${scratch}: ${said}${rootHint(owner, said)}`, error);
    });
    const port = await startServer({ ...paths, dataDir: scratch, logFile: path.join(scratch, 'server.log') }, owner, null, false);
    const client = new pg.Client({ host: '127.0.0.1', port, user: EMBEDDED_USER, password, database: 'postgres' });
    await client.connect();
    try {
      await createClosedDatabase(client, EMBEDDED_DATABASE);
      // fxpipe's own server: no database open to PUBLIC, so a reader connects only where it was granted (docs/make-com.md).
      await client.query('revoke connect, temporary on database postgres, template1 from public');
    } finally {
      await client.end();
    }
    await run(bin.pg_ctl, ['stop', '-D', scratch, '-m', 'fast', '-w', '-s'], owner);
    await writeFile(`${paths.passwordFile}.tmp`, `${password}\n`, { mode: 0o600 });
    await rename(`${paths.passwordFile}.tmp`, paths.passwordFile);
    if (dataDir !== link) {
      const newLink = `${link}.link-${process.pid}`;
      await rm(newLink, { force: true });
      await symlink(dataDir, newLink);
      await rename(newLink, link);
    }
    await rename(scratch, dataDir);
  } finally {
    await rm(pwfile, { force: true });
  }
}

async function removeAbandonedScratch(dir: string): Promise<void> {
  for (const entry of await readdir(dir)) {
    const match = /^(?:(?:pgdata|\.password)\.init|pgdata\.link)-(\d+)$/.exec(entry);
    if (!match || processAlive(Number(match[1]))) continue;
    const scratch = path.join(dir, entry);
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

/** The port a start uses: the one chosen, else the one recorded, else none (a free one, then recorded). */
async function portToStartOn(paths: EmbeddedPaths, options: EmbeddedOptions): Promise<{ port: number; recorded: boolean } | null> {
  if (options.port !== undefined) return { port: options.port, recorded: (await recordedPort(paths)) === options.port };
  const recorded = await recordedPort(paths);
  return recorded === null ? null : { port: recorded, recorded: true };
}

/** Records port in FXPIPE_HOME/port: every later start uses it. */
export async function recordPort(paths: EmbeddedPaths, port: number): Promise<void> {
  await writeFile(`${paths.portFile}.tmp`, `${port}\n`);
  await rename(`${paths.portFile}.tmp`, paths.portFile);
}

async function recordedPort(paths: EmbeddedPaths): Promise<number | null> {
  const text = await readFile(paths.portFile, 'utf8').catch(() => null);
  const port = Number.parseInt(text?.trim() ?? '', 10);
  return Number.isInteger(port) && port > 0 && port < 65_536 ? port : null;
}

/**
 * Starts the server detached (pg_ctl puts it in its own session) on `wanted` and nowhere else (a port taken is a usage
 * error naming it), or without one on a free port, then recorded in FXPIPE_HOME/port so the next start uses it again.
 * Any other failure is reported with the server's own FATAL/ERROR line from this start. A scratch server (initdb's)
 * passes `record: false`: no port recorded, no TLS.
 */
async function startServer(
  paths: EmbeddedPaths,
  owner?: RunAs,
  wanted: { port: number; recorded: boolean } | null = null,
  record = true,
  certificateNames: string[] = [],
): Promise<number> {
  owner ??= await runAs();
  const bin = await embeddedBinaries(owner);
  if (record) {
    // Every start is loopback-only (`db start --listen` widens it afterwards) and speaks TLS with FXPIPE_HOME/tls's certificate.
    await ensureCertificate(paths.home, owner, certificateNames);
    await installForServer(paths.home, paths.dataDir, owner);
    await setRemoteAccess(path.join(paths.dataDir, 'pg_hba.conf'), false, owner);
  }
  for (let attempt = 1; ; attempt++) {
    const port = wanted?.port ?? (await freePort());
    const logStart = await logSize(paths.logFile);
    try {
      await run(
        bin.pg_ctl,
        [
          'start',
          '-D',
          paths.dataDir,
          '-l',
          paths.logFile,
          '-w',
          '-t',
          String(START_TIMEOUT_S),
          '-s',
          '-o',
          record ? serverOptions(port) : `-p ${port}`,
        ],
        { ...owner, env: { ...process.env, LC_ALL: 'C' } },
      );
      if (record && !wanted?.recorded) await recordPort(paths, port);
      return port;
    } catch (error) {
      // A server another process (e.g. one killed mid-start) launched on this data directory won the race.
      const running = await waitWhileTransient(paths.dataDir);
      if (running) return running.port;
      const taken = await portWasTaken(paths.logFile, logStart);
      if (taken && wanted) {
        const why = wanted.recorded
          ? `the embedded server keeps the port it first started on (${paths.portFile})`
          : 'the port chosen (FXPIPE_PORT or --port)';
        throw usageError(
          `port ${port} on 127.0.0.1 is taken by another program: ${why}; free it, or choose another with --port N or FXPIPE_PORT`,
          error,
        );
      }
      if (attempt < 5 && taken) continue;
      const said =
        (await serverFailure(paths.logFile, logStart)) ??
        `${pgCtlSaid((error as { stderr?: string }).stderr) || 'pg_ctl failed'}, and the log has no FATAL or ERROR line from this start`;
      throw usageError(
        `could not start the embedded PostgreSQL in ${paths.dataDir}: ${said} (log: ${paths.logFile})${rootHint(owner, said)}`,
        error,
      );
    }
  }
}

function lastLine(text: string | undefined): string {
  return (text ?? '').trim().split('\n').filter(Boolean).pop()?.trim() ?? '';
}

function rootHint(owner: RunAs, said: string): string {
  return owner.uid === undefined || !/Permission denied/.test(said)
    ? ''
    : ' (running as root, the server runs as user postgres, which must be able to reach its data directory)';
}
