import { loadConfig, type Config } from '../config.js';
import { oneLine } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { runsInProgress } from '../jobs/runs-in-progress.js';
import { openDb, openDirect, resolveReadTarget, resolveTarget, type PoolOptions, type Target } from '../warehouse/connection.js';
import type { Db, SessionDb } from '../warehouse/db.js';
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
  withDb<T>(fn: (db: SessionDb, target: Target) => Promise<T>, options?: PoolOptions & { driver?: Db['driver'] }): Promise<T>;
  /** The same on the direct path, for the commands that stream COPY (backfill, archive, restore, query). */
  withDirectDb<T>(fn: (db: DirectDb, target: Target) => Promise<T>): Promise<T>;
  /**
   * Where the commands that only read go (serve's reads, status, query, advise): FXPIPE_READ_DATABASE_URL's host (a
   * standby), located as DATABASE_URL's is; the same locator as `locator` when it is not set. What reads there never
   * migrates: a standby takes the schema from its primary.
   */
  readLocator: DatabaseLocator;
  /** withDb at readLocator. */
  withReadDb<T>(fn: (db: Db, target: Target) => Promise<T>, options?: PoolOptions & { driver?: Db['driver'] }): Promise<T>;
  /** withDirectDb at readLocator. */
  withReadDirectDb<T>(fn: (db: DirectDb, target: Target) => Promise<T>): Promise<T>;
}

export function createContext(globals: { verbose?: boolean; quiet?: boolean } = {}): CommandContext {
  const config = loadConfig();
  const level = globals.verbose ? 'debug' : globals.quiet ? 'error' : config.logLevel;
  let log: Logger | undefined;
  const locator = new DatabaseLocator(() => resolveTarget(config));
  const readLocator = config.readDatabaseUrl ? new DatabaseLocator(() => resolveReadTarget(config)) : locator;
  const logConnectionError = (error: Error) => {
    const runId = runsInProgress().at(-1);
    (log ??= createLogger(level)).warn({ err: oneLine(error), ...(runId ? { runId } : {}) }, 'PostgreSQL connection failed');
  };
  /** A connection for fn, closed after it; when it cannot connect, the target is resolved again and the open retried. */
  async function withOpened<D extends Db, T>(
    at: DatabaseLocator,
    open: (target: Target) => Promise<D>,
    fn: (db: D, target: Target) => Promise<T>,
  ): Promise<T> {
    const { db, target } = await openLocated(at, open);
    try {
      return await fn(db, target);
    } finally {
      await db.close().catch(() => undefined);
    }
  }
  const openingDb = (options: PoolOptions & { driver?: Db['driver'] }) => (target: Target) =>
    openDb(target, { driver: config.driver, onConnectionError: logConnectionError, ...options });
  const openingDirect = (target: Target) => openDirect(target, { onConnectionError: logConnectionError });
  return {
    config,
    // Made when first used: a command that never logs (`fxpipe query`) does not load pino.
    get log() {
      return (log ??= createLogger(level));
    },
    locator,
    target: () => locator.current(),
    withDb(fn, options = {}) {
      return withOpened(locator, openingDb(options), fn);
    },
    withDirectDb(fn) {
      return withOpened(locator, openingDirect, fn);
    },
    readLocator,
    withReadDb(fn, options = {}) {
      return withOpened(readLocator, openingDb(options), fn);
    },
    withReadDirectDb(fn) {
      return withOpened(readLocator, openingDirect, fn);
    },
  };
}
