import CircuitBreaker from 'opossum';
import type { Db, Row, TransactionOptions } from '../warehouse/db.js';
import { DatabaseUnavailableError } from '../warehouse/reconnect.js';

/** How long serve stops asking a database it could not reach, before one request tries it again. */
const RETRY_AFTER_MS = 2000;

type Work = () => Promise<unknown>;

/**
 * serve's database behind opossum's circuit breaker: once no connection can be opened (DatabaseUnavailableError), every
 * request that needs the database fails at once for RETRY_AFTER_MS, instead of each trying to reconnect (and the
 * embedded server to start) again; then one request is let through, and its success closes the circuit. A statement's
 * own error (a 404's P0002, a bad parameter) does not count: only reaching the database does.
 */
export class DatabaseBreaker {
  readonly #breaker: CircuitBreaker<[Work], unknown>;
  #lastFailure: unknown = null;

  constructor(retryAfterMs = RETRY_AFTER_MS) {
    this.#breaker = new CircuitBreaker<[Work], unknown>((work) => work(), {
      name: 'database',
      timeout: false,
      // Any failure to reach it opens the circuit (opossum opens above this share of failures, whatever the successes).
      volumeThreshold: 1,
      errorThresholdPercentage: 0,
      resetTimeout: retryAfterMs,
      errorFilter: (error: unknown) => !(error instanceof DatabaseUnavailableError),
    });
    this.#breaker.on('failure', (error: unknown) => (this.#lastFailure = error));
  }

  /** The database could not be reached a moment ago, and is not being tried now. */
  get open(): boolean {
    return this.#breaker.opened;
  }

  /** Why it could not be reached, for the log. */
  get lastFailure(): unknown {
    return this.#lastFailure;
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    try {
      return (await this.#breaker.fire(work)) as T;
    } catch (error) {
      if ((error as { code?: unknown }).code === 'EOPENBREAKER') throw new DatabaseUnavailableError(this.#lastFailure ?? error);
      throw error;
    }
  }

  /** db with every statement and transaction through this breaker. */
  guard(db: Db): Db {
    return {
      driver: db.driver,
      query: <R extends Row = Row>(text: string, params?: readonly unknown[]) => this.run(() => db.query<R>(text, params)),
      transaction: <T>(fn: (tx: Db) => Promise<T>, options?: TransactionOptions) => this.run(() => db.transaction(fn, options)),
      close: () => {
        this.#breaker.shutdown();
        return db.close();
      },
    };
  }
}
