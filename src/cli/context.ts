import { loadConfig, type Config } from '../config.js';
import { oneLine } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { openDb, resolveTarget, type OpenOptions, type Target } from '../warehouse/connection.js';
import type { Db } from '../warehouse/db.js';
import { DatabaseLocator, openLocated } from '../warehouse/reconnect.js';

/** What every command gets: validated config, a logger, and a way to reach the database. */
export interface CommandContext {
  config: Config;
  log: Logger;
  /** Where the database is: resolved once, and again after a connection to it failed. */
  locator: DatabaseLocator;
  target(): Promise<Target>;
  /** A connection for fn; when it cannot connect, the target is resolved again (the embedded server restarted elsewhere) and retried. */
  withDb<T>(fn: (db: Db, target: Target) => Promise<T>, options?: OpenOptions): Promise<T>;
}

export function createContext(globals: { verbose?: boolean; quiet?: boolean } = {}): CommandContext {
  const config = loadConfig();
  const level = globals.verbose ? 'debug' : globals.quiet ? 'error' : config.logLevel;
  let log: Logger | undefined;
  const locator = new DatabaseLocator(() => resolveTarget(config));
  const logConnectionError = (error: Error) => (log ??= createLogger(level)).warn({ err: oneLine(error) }, 'PostgreSQL connection failed');
  return {
    config,
    // Made when first used: a command that never logs (`fxpipe query`) does not load pino.
    get log() {
      return (log ??= createLogger(level));
    },
    locator,
    target: () => locator.current(),
    async withDb(fn, options = {}) {
      const { db, target } = await openLocated(locator, (resolved) => openDb(resolved, { driver: config.driver, onConnectionError: logConnectionError, ...options }));
      try {
        return await fn(db, target);
      } finally {
        await db.close().catch(() => undefined);
      }
    },
  };
}
