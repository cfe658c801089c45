import pRetry from 'p-retry';
import type { Target } from './target.js';
import type { Db, Driver, Row, SessionDb, TransactionOptions } from './db.js';
import { inSqlStateClass, SqlState, sqlState, SqlStateClass } from './sqlstate.js';

/** Node socket errors and SQLSTATEs (shutdown, crash, starting; and class 08) that mean the connection, not the statement, failed. */
const CONNECTION_CODES = new Set<string>([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  SqlState.admin_shutdown,
  SqlState.crash_shutdown,
  SqlState.cannot_connect_now,
]);
/** node-postgres (and pg-pool: no connection to be had within connectionTimeoutMillis) raises these without a code. */
const CONNECTION_MESSAGES =
  /^(Connection terminated|Client has encountered a connection error|timeout expired$|timeout exceeded when trying to connect$)/;
/** Connections refused or never made: the statement never reached a server, so it can be sent again elsewhere. */
const NOT_SENT_CODES = new Set<string>([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  SqlState.cannot_connect_now,
  SqlState.sqlclient_unable_to_establish_sqlconnection,
  SqlState.sqlserver_rejected_establishment_of_sqlconnection,
]);
/** A connect that timed out already waited its full timeout: trying again at once would only multiply the wait. */
const TIMED_OUT = (e: Error & { code?: unknown }) =>
  e.code === 'ETIMEDOUT' ||
  /^(timeout expired$|timeout exceeded when trying to connect$|Connection terminated due to connection timeout)/.test(e.message);

/** The first error in error's cause chain (and an AggregateError's errors) that test accepts. */
function findInChain(error: unknown, test: (e: Error & { code?: unknown }) => boolean, depth = 0): (Error & { code?: unknown }) | null {
  if (!(error instanceof Error) || depth > 8) return null;
  if (test(error)) return error;
  for (const inner of [error.cause, ...(error instanceof AggregateError ? (error.errors as unknown[]) : [])]) {
    const found = findInChain(inner, test, depth + 1);
    if (found) return found;
  }
  return null;
}

const codeOf = (e: unknown) => sqlState(e) ?? '';

/** The error (or its cause) that says the database connection failed, or null: the server went away, restarted or cannot be reached. */
export function connectionFailure(error: unknown): Error | null {
  return findInChain(
    error,
    (e) => CONNECTION_CODES.has(codeOf(e)) || inSqlStateClass(e, SqlStateClass.connection_exception) || CONNECTION_MESSAGES.test(e.message),
  );
}

export function isConnectionError(error: unknown): boolean {
  return connectionFailure(error) !== null;
}

/** True when the statement cannot have reached a server (no connection could be opened). */
function neverSent(error: unknown): boolean {
  return findInChain(error, (e) => NOT_SENT_CODES.has(codeOf(e))) !== null;
}

/**
 * Where the database is now. Resolved once, and again after a connection to it failed: the embedded
 * server may be back on another port (resolving starts it when it is down); a URL with several hosts is
 * located anew (the new primary after a failover, the primary when the standby that was read is gone).
 */
export class DatabaseLocator {
  #current: Promise<Target> | null = null;

  constructor(private readonly resolve: () => Promise<Target>) {}

  current(): Promise<Target> {
    if (!this.#current) {
      const resolving = this.resolve();
      this.#current = resolving;
      // A failed resolution is not kept: the next caller tries again.
      resolving.catch(() => {
        if (this.#current === resolving) this.#current = null;
      });
    }
    return this.#current;
  }

  /** Forgets failed, if it is still the current target (callers that saw the same failure re-resolve once). */
  async forget(failed: Target): Promise<void> {
    const current = this.#current;
    if (current && (await current.catch(() => null)) === failed && this.#current === current) this.#current = null;
  }
}

/**
 * The host a URL was located at no longer fits its target_session_attrs (a primary back as a standby after a failover,
 * at the same address): like a connection failure, it makes the locator locate again.
 */
export class StaleTargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StaleTargetError';
  }
}

/** A failure after which the target must be located again: the connection failed, or the host changed role. */
function relocates(error: unknown): boolean {
  return isConnectionError(error) || findInChain(error, (e) => e instanceof StaleTargetError) !== null;
}

/** How long to keep trying to reach the database: p-retry's exponential backoff. */
export interface Backoff {
  retries: number;
  minTimeout: number;
  maxTimeout: number;
  signal?: AbortSignal;
}

/** A few quick retries: enough for the embedded server to be found or started again, short enough for a request. */
const QUICK_BACKOFF: Backoff = { retries: 3, minTimeout: 100, maxTimeout: 1000 };

/**
 * Opens a Db at the located target. When the connection fails, the target is resolved again and the
 * open retried, with backoff; a connect that timed out, and any other failure (authentication, version,
 * the server not starting), is final.
 */
export async function openLocated<D extends Db>(
  locator: DatabaseLocator,
  open: (target: Target) => Promise<D>,
  backoff: Backoff = QUICK_BACKOFF,
): Promise<{ db: D; target: Target }> {
  return pRetry(
    async () => {
      const target = await locator.current();
      try {
        return { db: await open(target), target };
      } catch (error) {
        if (relocates(error)) await locator.forget(target);
        throw error;
      }
    },
    { ...backoff, shouldRetry: ({ error }) => relocates(error) && findInChain(error, TIMED_OUT) === null },
  );
}

/**
 * No connection to the database could be opened: it is down, could not be located or started again (the embedded
 * server's port taken), or refused fxpipe (the database dropped, the password changed). The cause says which.
 */
export class DatabaseUnavailableError extends Error {
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = 'DatabaseUnavailableError';
  }
}

/** One opening of the connection: compared by identity, so only the first user to see it fail discards it. */
type Opened = Promise<{ db: SessionDb; target: Target }>;

/**
 * A Db that outlives its server: after a connection failure its connection (or pool) is discarded,
 * and the next statement opens a new one at the target located anew. A statement that could not be
 * sent is retried once on the new connection; one that may have reached the old server, and every
 * transaction, fails with the connection error (the caller decides whether to repeat it).
 */
export class ReconnectingDb implements SessionDb {
  #opened: Opened | null = null;
  #closed = false;

  private constructor(
    readonly driver: Driver,
    private readonly locator: DatabaseLocator,
    private readonly open: (target: Target) => Promise<SessionDb>,
    private readonly backoff: Backoff,
  ) {}

  /** Connects once now, so a database that cannot be reached at start-up fails at once. */
  static async connect(
    driver: Driver,
    locator: DatabaseLocator,
    open: (target: Target) => Promise<SessionDb>,
    backoff: Backoff = QUICK_BACKOFF,
  ): Promise<ReconnectingDb> {
    const db = new ReconnectingDb(driver, locator, open, backoff);
    await db.#connection();
    return db;
  }

  /** Connects on the first statement: a process that must start while the database is down (serve, with its last good answers). */
  static later(
    driver: Driver,
    locator: DatabaseLocator,
    open: (target: Target) => Promise<SessionDb>,
    backoff: Backoff = QUICK_BACKOFF,
  ): ReconnectingDb {
    return new ReconnectingDb(driver, locator, open, backoff);
  }

  query<R extends Row = Row>(text: string, params: readonly unknown[] = []): Promise<R[]> {
    return this.#use((db) => db.query<R>(text, params), true);
  }

  transaction<T>(fn: (tx: Db) => Promise<T>, options?: TransactionOptions): Promise<T> {
    return this.#use((db) => db.transaction(fn, options), false);
  }

  lockSession(): Promise<Db> {
    return this.#use((db) => db.lockSession(), true);
  }

  async close(): Promise<void> {
    this.#closed = true;
    const opened = this.#opened;
    this.#opened = null;
    const current = await opened?.catch(() => null);
    await current?.db.close();
  }

  #connection(): Opened {
    if (this.#closed) throw new Error('the database connection was closed');
    if (!this.#opened) {
      const opened = openLocated(this.locator, this.open, this.backoff);
      opened.catch(() => {
        if (this.#opened === opened) this.#opened = null;
      });
      this.#opened = opened;
    }
    return this.#opened;
  }

  async #use<T>(work: (db: SessionDb) => Promise<T>, resend: boolean): Promise<T> {
    const opened = this.#connection();
    const { db, target } = await unavailableIfFails(opened);
    try {
      return await work(db);
    } catch (error) {
      if (!isConnectionError(error)) throw error;
      if (this.#opened === opened) {
        this.#opened = null;
        await this.locator.forget(target);
        // Statements still running on it fail on their own; closing waits for them, so it is not awaited.
        void db.close().catch(() => undefined);
      }
      if (!resend || !neverSent(error)) throw error;
      const next = await unavailableIfFails(this.#connection());
      return work(next.db);
    }
  }
}

/** A failure to open a connection, whatever its cause, as DatabaseUnavailableError. */
async function unavailableIfFails<T>(opening: Promise<T>): Promise<T> {
  try {
    return await opening;
  } catch (error) {
    throw new DatabaseUnavailableError(error);
  }
}
