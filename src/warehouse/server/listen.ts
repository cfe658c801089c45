import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { usageError } from '../../errors.js';
import { clientSettings } from '../connection.js';
import { withFileLock } from '../../util/file-lock.js';
import { embeddedBinaries } from './binaries.js';
import { embeddedPaths, ensureEmbedded, readRunning, runAs, serverOptions, START_TIMEOUT_S, type EmbeddedConnection, type EmbeddedOptions, type EmbeddedPaths } from './embedded.js';
import { isWildcard, listenAddressesFor } from './listen-address.js';
import { setRemoteAccess } from './pg-hba.js';
import { logSize, pgCtlSaid, serverFailure } from './server-log.js';
import { ensureWatchdog } from './watchdog.js';
import { canonicalName, currentCertificate, generateCertificate, installForServer, installGivenCertificate, type CertificateSummary, type GivenCertificate } from './tls.js';

const run = promisify(execFile);

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
  certificate: CertificateSummary;
  /** Why fxpipe made a new certificate of its own this time, if it did. */
  generated?: string;
}

/**
 * Makes the embedded server under home listen on address (from parseListenAddress) besides loopback, every TCP
 * connection over TLS and by password (scram-sha-256): starts it when needed, puts the certificate in place (the one
 * given, else fxpipe's own, made anew when it lacks a name clients will use), writes pg_hba.conf's TLS-only block, and
 * restarts a server listening elsewhere (pg_ctl restart -m fast: open sessions are closed, their transactions roll
 * back), under the server lock. Only until the server stops: the next start without --listen is loopback-only again.
 */
export async function listenOn(home: string, address: string, options: ListenOptions = {}): Promise<ListeningServer> {
  const wanted = listenAddressesFor(address);
  const connection = await ensureEmbedded(home, { ...options, certificateNames: namesNeeded(address, options) });
  const paths = embeddedPaths(home);
  const owner = await runAs();
  return withFileLock(paths.lockFile, 3 * START_TIMEOUT_S * 1000, async () => {
    if ((await readRunning(paths.dataDir))?.status !== 'ready') {
      throw usageError('the embedded PostgreSQL stopped while fxpipe was configuring it: run the command again');
    }
    const { certificate, generated } = await listenCertificate(home, address, options);
    const certChanged = await installForServer(home, paths.dataDir, owner);
    const hbaChanged = await setRemoteAccess(path.join(paths.dataDir, 'pg_hba.conf'), true, owner);
    const running = await serverSettings(connection);
    const result = { listenAddresses: wanted, certificate, ...(generated ? { generated } : {}) };
    if (running.listenAddresses === wanted && running.ssl) {
      // PostgreSQL reads pg_hba.conf and the certificate files again on reload.
      if (hbaChanged || certChanged) await pgCtl(paths, ['reload', '-D', paths.dataDir, '-s']);
      return { connection, restarted: false, ...result };
    }
    await pgCtl(paths, ['restart', '-D', paths.dataDir, '-m', 'fast', '-w', '-t', String(START_TIMEOUT_S), '-s',
      '-l', paths.logFile, '-o', serverOptions(connection.port, wanted)]);
    await ensureWatchdog(home);
    return { connection: { ...connection, tls: true }, restarted: true, ...result };
  });
}

/** The names fxpipe's own certificate must carry for clients of address: the address itself (unless a wildcard), and --tls-name's. */
function namesNeeded(address: string, options: ListenOptions): string[] {
  return [...(isWildcard(address) ? [] : [address]), ...(options.tlsNames ?? [])].map(canonicalName);
}

/** The certificate to listen with: the one given; else one given earlier; else fxpipe's own, made anew when it lacks a name needed. */
async function listenCertificate(home: string, address: string, options: ListenOptions): Promise<{ certificate: CertificateSummary; generated?: string }> {
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
      'select current_setting($1) as listen, current_setting($2) as ssl', ['listen_addresses', 'ssl']);
    return { listenAddresses: rows[0]!.listen, ssl: rows[0]!.ssl === 'on' };
  } finally {
    await client.end();
  }
}

async function pgCtl(paths: EmbeddedPaths, args: string[]): Promise<void> {
  const owner = await runAs();
  const bin = await embeddedBinaries(owner);
  const logStart = await logSize(paths.logFile);
  try {
    await run(bin.pg_ctl, args, { ...owner, env: { ...process.env, LC_ALL: 'C' } });
  } catch (error) {
    const reason = (await serverFailure(paths.logFile, logStart)) ?? pgCtlSaid((error as { stderr?: string }).stderr);
    throw usageError(`pg_ctl ${args[0]} of the embedded PostgreSQL in ${paths.dataDir} failed: ${reason || 'see its log'} (log: ${paths.logFile})`, error);
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
export async function renewCertificate(home: string, options: RenewOptions = {}): Promise<{ certificate: CertificateSummary; reloaded: boolean }> {
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
