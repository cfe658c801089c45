import type pg from 'pg';
import type { Db, Driver, Row, TransactionOptions } from './db.js';

/** A Db on one connection: the direct path's own, or one a pool lent for a transaction. */
export class ClientDb<C extends pg.ClientBase = pg.ClientBase> implements Db {
  #inTransaction = false;

  constructor(
    readonly client: C,
    readonly driver: Driver,
  ) {}

  async query<R extends Row = Row>(text: string, params: readonly unknown[] = []): Promise<R[]> {
    const result: pg.QueryResult<R> | pg.QueryResult<R>[] = await this.client.query<R>(text, params as unknown[]);
    // Several statements (simple protocol, no params) answer with one result each.
    return isResultList(result) ? (result.at(-1)?.rows ?? []) : result.rows;
  }

  /** fn gets this same connection, typed as it is: a transaction on the direct path can stream COPY on tx.client. */
  async transaction<T>(fn: (tx: this) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    if (this.#inTransaction) return fn(this);
    const { signal } = options;
    signal?.throwIfAborted();
    const abandon = () => this.abandon();
    signal?.addEventListener('abort', abandon, { once: true });
    try {
      return await this.#transaction(fn);
    } finally {
      signal?.removeEventListener('abort', abandon);
    }
  }

  async #transaction<T>(fn: (tx: this) => Promise<T>): Promise<T> {
    await this.client.query('begin');
    this.#inTransaction = true;
    try {
      const result = await fn(this);
      await this.client.query('commit');
      return result;
    } catch (error) {
      await this.client.query('rollback').catch(() => undefined);
      throw error;
    } finally {
      this.#inTransaction = false;
    }
  }

  /** Drops the connection at once (no goodbye to the server): what a statement in progress was doing is abandoned. */
  abandon(): void {
    (this.client as unknown as Partial<pg.Client>).connection?.stream.destroy();
  }

  async close(): Promise<void> {}
}

function isResultList<R extends Row>(result: pg.QueryResult<R> | pg.QueryResult<R>[]): result is pg.QueryResult<R>[] {
  return Array.isArray(result);
}
