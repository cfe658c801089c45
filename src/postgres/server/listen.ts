import path from 'node:path';
import pg from 'pg';
import { usageError } from '../../errors.js';
import { clientSettings } from '../../warehouse/target.js';
import { withFileLock } from '../../util/file-lock.js';
import {
  embeddedPaths,
  ensureEmbedded,
  readRunning,
  runAs,
  runningConnection,
  START_TIMEOUT_S,
  type EmbeddedConnection,
  type EmbeddedOptions,
} from './embedded.js';
import { isWildcard, listenAddressesFor } from './listen-address.js';
import { setRemoteAccess } from './pg-hba.js';
import { pgCtl, refuseTakenPort, restartAt } from './restart.js';
import { ensureWatchdog } from './watchdog.js';
import {
  canonicalName,
  currentCertificate,
  ensureCertificate,
  generateCertificate,
  installForServer,
  installGivenCertificate,
  type CertificateSummary,
  type GivenCertificate,
} from './tls.js';

export interface ListenOptions extends EmbeddedOptions {
  /** A certificate and key to use (--tls-cert/--tls-key, FXPIPE_TLS_CERT/FXPIPE_TLS_KEY) instead of fxpipe's own. */
  tls?: GivenCertificate;
  /** Host names (or addresses) clients will connect with, for fxpipe's own certificate (--tls-name). */
  tlsNames?: string[];
}

export interface ListeningServer {
  connection: EmbeddedConnection;
  /** PostgreSQL's listen_addresses now in force. */
  listenAddresses: string;
  /** True when a running server was restarted to listen there. */
  restarted: boolean;
  /** The port a running server was moved from by this restart (options.port differed). */
  movedFrom?: number;
  certificate: CertificateSummary;
  /** Why fxpipe made a new certificate of its own this time, if it did. */
  generated?: string;
}

/**
 * Makes the embedded server under home listen on address (from parseListenAddress) besides loopback, every TCP
 * connection over TLS and by password (scram-sha-256): starts it when needed, puts the certificate in place (the one
 * given, else fxpipe's own, made anew when it lacks a name clients will use), writes pg_hba.conf's TLS-only block, and
 * restarts a server listening elsewhere or on another port than options.port (pg_ctl restart -m fast: open sessions are
 * closed, their transactions roll back; a port moved to is recorded), under the server lock. Only until the server stops:
 * the next start without --listen is loopback-only again.
 */
export async function listenOn(home: string, address: string, options: ListenOptions = {}): Promise<ListeningServer> {
  const wanted = listenAddressesFor(address);
  const connection = await ensureEmbedded(home, { ...options, certificateNames: namesNeeded(address, options) });
  const paths = embeddedPaths(home);
  const owner = await runAs();
  return withFileLock(paths.lockFile, 3 * START_TIMEOUT_S * 1000, async () => {
    const current = await readRunning(paths.dataDir);
    if (current?.status !== 'ready') {
      throw usageError('the embedded PostgreSQL stopped while fxpipe was configuring it: run the command again');
    }
    const port = options.port ?? current.port;
    const running = await serverSettings(connection);
    const from = { port: current.port, listenAddresses: running.listenAddresses };
    await refuseTakenPort(from, { port, listenAddresses: wanted });
    const { certificate, generated } = await listenCertificate(home, address, options);
    const certChanged = await installForServer(home, paths.dataDir, owner);
    const hbaChanged = await setRemoteAccess(path.join(paths.dataDir, 'pg_hba.conf'), true, owner);
    const result = { listenAddresses: wanted, certificate, ...(generated ? { generated } : {}) };
    if (running.listenAddresses === wanted && running.ssl && port === current.port) {
      // PostgreSQL reads pg_hba.conf and the certificate files again on reload.
      if (hbaChanged || certChanged) await pgCtl(paths, ['reload', '-D', paths.dataDir, '-s']);
      return { connection, restarted: false, ...result };
    }
    await restartAt(paths, from, { port, listenAddresses: wanted });
    await ensureWatchdog(home);
    const moved = port === current.port ? {} : { movedFrom: current.port };
    return { connection: { ...(await connectionNow(home)), tls: true }, restarted: true, ...moved, ...result };
  });
}

/**
 * `db start --port N` (or FXPIPE_PORT) while the server runs on another port: restarts it once on N, listening where it
 * listens now (an earlier --listen stays in force), and records N; open sessions are closed. Returns the new
 * connection and the port it left, or movedFrom undefined when it already runs on N (or was not running: then started there).
 */
export async function moveEmbedded(home: string, port: number): Promise<{ connection: EmbeddedConnection; movedFrom?: number }> {
  const connection = await ensureEmbedded(home, { port });
  if (connection.port === port) return { connection };
  const paths = embeddedPaths(home);
  return withFileLock(paths.lockFile, 3 * START_TIMEOUT_S * 1000, async () => {
    const current = await readRunning(paths.dataDir);
    if (current?.status !== 'ready') throw usageError('the embedded PostgreSQL stopped while fxpipe was moving it: run the command again');
    if (current.port === port) return { connection: await connectionNow(home) };
    const { listenAddresses } = await serverSettings(connection);
    const from = { port: current.port, listenAddresses };
    await refuseTakenPort(from, { port, listenAddresses });
    // Every start speaks TLS (serverOptions): a server an older fxpipe started without it gets its certificate in place first.
    const owner = await runAs();
    await ensureCertificate(home, owner, []);
    await installForServer(home, paths.dataDir, owner);
    await restartAt(paths, from, { port, listenAddresses });
    await ensureWatchdog(home);
    return { connection: await connectionNow(home), movedFrom: current.port };
  });
}

/** The connection to the server as it runs now (after a restart: its new port, from postmaster.pid). */
async function connectionNow(home: string): Promise<EmbeddedConnection> {
  const connection = await runningConnection(home);
  if (!connection) throw usageError('the embedded PostgreSQL stopped right after its restart: see its log, then run the command again');
  return connection;
}

/** The names fxpipe's own certificate must carry for clients of address: the address itself (unless a wildcard), and --tls-name's. */
function namesNeeded(address: string, options: ListenOptions): string[] {
  return [...(isWildcard(address) ? [] : [address]), ...(options.tlsNames ?? [])].map(canonicalName);
}

/** The certificate to listen with: the one given; else one given earlier; else fxpipe's own, made anew when it lacks a name needed. */
async function listenCertificate(
  home: string,
  address: string,
  options: ListenOptions,
): Promise<{ certificate: CertificateSummary; generated?: string }> {
  const owner = await runAs();
  if (options.tls) return { certificate: await installGivenCertificate(home, options.tls, owner) };
  const current = await currentCertificate(home);
  if (current?.given) return { certificate: current };
  const needed = namesNeeded(address, options);
  const missing = needed.filter((name) => !current?.names.includes(name));
  if (current && missing.length === 0) return { certificate: current };
  const certificate = await generateCertificate(home, owner, [...(current?.names ?? []), ...needed]);
  return { certificate, generated: current ? `the previous one did not name ${missing.join(', ')}` : 'there was none' };
}

/** The listen_addresses the running server uses. */
export async function currentListenAddresses(connection: EmbeddedConnection): Promise<string> {
  return (await serverSettings(connection)).listenAddresses;
}

async function serverSettings(connection: EmbeddedConnection): Promise<{ listenAddresses: string; ssl: boolean }> {
  const client = new pg.Client({ ...clientSettings(connection), connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    const { rows } = await client.query<{ listen: string; ssl: string }>(
      'select current_setting($1) as listen, current_setting($2) as ssl',
      ['listen_addresses', 'ssl'],
    );
    return { listenAddresses: rows[0]!.listen, ssl: rows[0]!.ssl === 'on' };
  } finally {
    await client.end();
  }
}

export interface RenewOptions {
  tls?: GivenCertificate;
  tlsNames?: string[];
  /** Replace a given certificate by fxpipe's own. */
  selfSigned?: boolean;
}

/**
 * `db renew-cert`: fxpipe's own certificate made anew (same names, plus tlsNames), or a given one copied again from its
 * files (a renewed Let's Encrypt certificate, say), or the one in options.tls; a running server reloads it (no restart:
 * PostgreSQL reads the certificate files again on reload; open sessions keep theirs).
 */
export async function renewCertificate(
  home: string,
  options: RenewOptions = {},
): Promise<{ certificate: CertificateSummary; reloaded: boolean }> {
  const paths = embeddedPaths(home);
  const owner = await runAs();
  const current = await currentCertificate(home);
  const certificate = options.tls
    ? await installGivenCertificate(home, options.tls, owner)
    : current?.given && !options.selfSigned
      ? await installGivenCertificate(home, current.given, owner)
      : await generateCertificate(home, owner, [...(current && !current.given ? current.names : []), ...(options.tlsNames ?? [])]);
  const reloaded = await withFileLock(paths.lockFile, 3 * START_TIMEOUT_S * 1000, async () => {
    if ((await readRunning(paths.dataDir))?.status !== 'ready') return false;
    if (!(await installForServer(home, paths.dataDir, owner))) return false;
    await pgCtl(paths, ['reload', '-D', paths.dataDir, '-s']);
    return true;
  });
  return { certificate, reloaded };
}
