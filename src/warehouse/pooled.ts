import type pg from 'pg';
import { ClientDb } from './client-db.js';
import type { Db, Row, SessionDb, TransactionOptions } from './db.js';
import { SpareConnection } from './direct.js';

/** The pooled access path: a pg.Pool; each statement on any idle connection, each transaction on one it lends. */
export class PooledDb implements SessionDb {
  readonly driver = 'pooled' as const;
  readonly #lockSession: SpareConnection;

  constructor(
    readonly pool: pg.Pool,
    onError: (error: Error) => void = () => undefined,
  ) {
    this.#lockSession = new SpareConnection(pool.options, onError);
  }

  /** Not pool.query: that drops the connection after any error, a statement's own (a division by zero) included. */
  async query<R extends Row = Row>(text: string, params: readonly unknown[] = []): Promise<R[]> {
    const client = await this.pool.connect();
    try {
      return await new ClientDb(client, 'pooled').query<R>(text, params);
    } finally {
      client.release();
    }
  }

  async transaction<T>(fn: (tx: Db) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    options.signal?.throwIfAborted();
    const client = await this.pool.connect();
    try {
      return await new ClientDb(client, 'pooled').transaction(fn, options);
    } finally {
      // A connection that broke meanwhile, or was abandoned, is dropped by the pool, not lent again.
      client.release(options.signal?.aborted === true);
    }
  }

  lockSession(): Promise<Db> {
    return this.#lockSession.get();
  }

  async close(): Promise<void> {
    await this.#lockSession.close();
    await this.pool.end();
  }
}
