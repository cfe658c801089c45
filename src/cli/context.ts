import { loadConfig, type Config } from '../config.js';
import { createLogger, type Logger } from '../log.js';
import { openDb, resolveTarget, type OpenOptions, type Target } from '../warehouse/connection.js';
import type { Db } from '../warehouse/db.js';

/** What every command gets: validated config, a logger, and a way to reach the database. */
export interface CommandContext {
  config: Config;
  log: Logger;
  target(): Promise<Target>;
  withDb<T>(fn: (db: Db, target: Target) => Promise<T>, options?: OpenOptions): Promise<T>;
}

export function createContext(globals: { verbose?: boolean; quiet?: boolean } = {}): CommandContext {
  const config = loadConfig();
  const level = globals.verbose ? 'debug' : globals.quiet ? 'error' : config.logLevel;
  const log = createLogger(level);
  let target: Promise<Target> | undefined;
  const ctx: CommandContext = {
    config,
    log,
    target: () => (target ??= resolveTarget(config)),
    async withDb(fn, options = {}) {
      const resolved = await ctx.target();
      const db = await openDb(resolved, { driver: config.driver, ...options });
      try {
        return await fn(db, resolved);
      } finally {
        await db.close().catch(() => undefined);
      }
    },
  };
  return ctx;
}
