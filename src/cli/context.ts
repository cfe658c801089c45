import { loadConfig, type Config } from '../config.js';
import { oneLine } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { runsInProgress } from '../runs-in-progress.js';
import { openDb, openDirect, resolveTarget, type PoolOptions, type Target } from '../warehouse/connection.js';
import type { Db } from '../warehouse/db.js';
import type { DirectDb } from '../warehouse/direct.js';
import { DatabaseLocator, openLocated } from '../warehouse/reconnect.js';

/** What every command gets: validated config, a logger, and a way to reach the database. */
export interface CommandContext {
  config: Config;
  log: Logger;
  /** Where the database is: resolved once, and again after a connection to it failed. */
  locator: DatabaseLocator;
  target(): Promise<Target>;
  /** A connection for fn; when it cannot connect, the target is resolved again (the embedded server restarted elsewhere) and retried. */
  withDb<T>(fn: (db: Db, target: Target) => Promise<T>, options?: PoolOptions & { driver?: Db['driver'] }): Promise<T>;
  /** The same on the direct path, for the commands that stream COPY (backfill, archive, restore, query). */
  withDirectDb<T>(fn: (db: DirectDb, target: Target) => Promise<T>): Promise<T>;
}

export function createContext(globals: { verbose?: boolean; quiet?: boolean } = {}): CommandContext {
  const config = loadConfig();
  const level = globals.verbose ? 'debug' : globals.quiet ? 'error' : config.logLevel;
  let log: Logger | undefined;
  const locator = new DatabaseLocator(() => resolveTarget(config));
  const logConnectionError = (error: Error) => {
    const runId = runsInProgress().at(-1);
    (log ??= createLogger(level)).warn({ err: oneLine(error), ...(runId ? { runId } : {}) }, 'PostgreSQL connection failed');
  };
  /** A connection for fn, closed after it; when it cannot connect, the target is resolved again and the open retried. */
  async function withOpened<D extends Db, T>(open: (target: Target) => Promise<D>, fn: (db: D, target: Target) => Promise<T>): Promise<T> {
    const { db, target } = await openLocated(locator, open);
    try {
      return await fn(db, target);
    } finally {
      await db.close().catch(() => undefined);
    }
  }
  return {
    config,
    // Made when first used: a command that never logs (`fxpipe query`) does not load pino.
    get log() {
      return (log ??= createLogger(level));
    },
    locator,
    target: () => locator.current(),
    withDb(fn, options = {}) {
      return withOpened((target) => openDb(target, { driver: config.driver, onConnectionError: logConnectionError, ...options }), fn);
    },
    withDirectDb(fn) {
      return withOpened((target) => openDirect(target, { onConnectionError: logConnectionError }), fn);
    },
  };
}
