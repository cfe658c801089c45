import { execFile } from 'node:child_process';
import net from 'node:net';
import { promisify } from 'node:util';
import { usageError } from '../../errors.js';
import { embeddedBinaries } from './binaries.js';
import { recordPort, runAs, serverOptions, START_TIMEOUT_S, type EmbeddedPaths } from './embedded.js';
import { logSize, pgCtlSaid, serverFailure } from './server-log.js';

const run = promisify(execFile);

/** pg_ctl as the server's user; a failure is a usage error quoting the server's own FATAL/ERROR line from this call. */
export async function pgCtl(paths: EmbeddedPaths, args: string[]): Promise<void> {
  const owner = await runAs();
  const bin = await embeddedBinaries(owner);
  const logStart = await logSize(paths.logFile);
  try {
    await run(bin.pg_ctl, args, { ...owner, env: { ...process.env, LC_ALL: 'C' } });
  } catch (error) {
    const reason = (await serverFailure(paths.logFile, logStart)) ?? pgCtlSaid((error as { stderr?: string }).stderr);
    throw usageError(
      `pg_ctl ${args[0]} of the embedded PostgreSQL in ${paths.dataDir} failed: ${reason || 'see its log'} (log: ${paths.logFile})`,
      error,
    );
  }
}

export interface ServerPlace {
  port: number;
  /** PostgreSQL's listen_addresses: 127.0.0.1 alone, or with the addresses of `db start --listen`. */
  listenAddresses: string;
}

/**
 * Refuses a move to a port another program holds at one of the addresses the server is to listen on: called under the
 * server lock before anything is changed, so the server keeps running as it was.
 */
export async function refuseTakenPort(from: ServerPlace, to: ServerPlace): Promise<void> {
  if (to.port === from.port) return;
  const holder = await portHolder(to.port, to.listenAddresses);
  if (holder) {
    throw usageError(
      `port ${to.port} on ${holder} is taken by another program: the embedded server keeps running on port ${from.port}, unchanged; free it, or choose another with --port N`,
    );
  }
}

/**
 * Restarts the running server (pg_ctl restart -m fast: open sessions are closed, their transactions roll back) at `to`,
 * and records its port in FXPIPE_HOME/port when it moved. The caller holds the server lock and has called
 * refuseTakenPort; should the restart still fail (the port taken meanwhile), the server is started again where it was
 * (`from`) and the error says so, or says it is stopped.
 */
export async function restartAt(paths: EmbeddedPaths, from: ServerPlace, to: ServerPlace): Promise<void> {
  try {
    await pgCtl(paths, restartArgs(paths, 'restart', to));
  } catch (error) {
    if (to.port === from.port) throw error;
    const failed = (error as Error).message;
    try {
      await pgCtl(paths, restartArgs(paths, 'start', from));
    } catch (again) {
      throw usageError(
        `could not move the embedded server to port ${to.port}, and it is now stopped: ${failed}; starting it again on port ${from.port} failed too: ${(again as Error).message}`,
        error,
      );
    }
    throw usageError(
      `could not move the embedded server to port ${to.port}: ${failed}; it runs again on port ${from.port}, as before`,
      error,
    );
  }
  if (to.port !== from.port) await recordPort(paths, to.port);
}

function restartArgs(paths: EmbeddedPaths, action: 'restart' | 'start', at: ServerPlace): string[] {
  return [
    action,
    '-D',
    paths.dataDir,
    ...(action === 'restart' ? ['-m', 'fast'] : []),
    '-w',
    '-t',
    String(START_TIMEOUT_S),
    '-s',
    '-l',
    paths.logFile,
    '-o',
    serverOptions(at.port, at.listenAddresses === '127.0.0.1' ? undefined : at.listenAddresses),
  ];
}

/** The first address of listenAddresses where another program already listens on port, if any. */
async function portHolder(port: number, listenAddresses: string): Promise<string | undefined> {
  for (const address of listenAddresses.split(',').map((a) => a.trim())) {
    const host = address === '*' ? '0.0.0.0' : address;
    if (await listensAlready(port, host)) return host;
  }
  return undefined;
}

/** True when binding host:port fails because it is in use (any other failure is left for PostgreSQL to report). */
function listensAlready(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.unref();
    probe.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'EADDRINUSE'));
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve(false)));
  });
}
