import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { usageError } from '../../errors.js';
import { withFileLock } from '../../util/file-lock.js';
import { embeddedBinaries } from './binaries.js';
import { embeddedPaths, ensureEmbedded, readRunning, runAs, START_TIMEOUT_S, type EmbeddedConnection, type EmbeddedOptions, type EmbeddedPaths } from './embedded.js';
import { listenAddressesFor } from './listen-address.js';
import { allowRemotePasswordLogins } from './pg-hba.js';
import { logSize, pgCtlSaid, serverFailure } from './server-log.js';

const run = promisify(execFile);

export interface ListeningServer {
  connection: EmbeddedConnection;
  /** PostgreSQL's listen_addresses now in force. */
  listenAddresses: string;
  /** True when a running server was restarted to listen there. */
  restarted: boolean;
}

/**
 * Makes the embedded server under home listen on address (from parseListenAddress) besides loopback,
 * every connection authenticated by password (scram-sha-256): starts it when needed, allows password
 * logins from any address in pg_hba.conf, and restarts a server listening elsewhere (pg_ctl restart
 * -m fast: open sessions are closed, their transactions roll back), under the server lock.
 * Only until the server stops: the next start without --listen is loopback-only again.
 */
export async function listenOn(home: string, address: string, options: EmbeddedOptions = {}): Promise<ListeningServer> {
  const wanted = listenAddressesFor(address);
  const connection = await ensureEmbedded(home, options);
  const paths = embeddedPaths(home);
  const restarted = await withFileLock(paths.lockFile, 3 * START_TIMEOUT_S * 1000, async () => {
    if ((await readRunning(paths.dataDir))?.status !== 'ready') {
      throw usageError('the embedded PostgreSQL stopped while fxpipe was configuring it: run the command again');
    }
    const hbaChanged = await allowRemotePasswordLogins(path.join(paths.dataDir, 'pg_hba.conf'));
    if ((await currentListenAddresses(connection)) === wanted) {
      if (hbaChanged) await pgCtl(paths, ['reload', '-D', paths.dataDir, '-s']);
      return false;
    }
    // pg_ctl runs the postmaster through a shell: wanted holds only validated address characters, quoted.
    await pgCtl(paths, ['restart', '-D', paths.dataDir, '-m', 'fast', '-w', '-t', String(START_TIMEOUT_S), '-s',
      '-l', paths.logFile, '-o', `-p ${connection.port} -h '${wanted}'`]);
    return true;
  });
  return { connection, listenAddresses: wanted, restarted };
}

/** The listen_addresses the running server uses. */
export async function currentListenAddresses(connection: EmbeddedConnection): Promise<string> {
  const client = new pg.Client({ connectionString: connection.url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    const { rows } = await client.query<{ value: string }>('select current_setting($1) as value', ['listen_addresses']);
    return rows[0]!.value;
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
