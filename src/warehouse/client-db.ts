import type pg from 'pg';
import type { Db, Driver, Row } from './db.js';

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
    return Array.isArray(result) ? (result.at(-1)?.rows ?? []) : result.rows;
  }

  /** fn gets this same connection, typed as it is: a transaction on the direct path can stream COPY on tx.client. */
  async transaction<T>(fn: (tx: this) => Promise<T>): Promise<T> {
    if (this.#inTransaction) return fn(this);
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

  lockSession(): Promise<Db> {
    return Promise.reject(new Error('a transaction has no lock session of its own'));
  }

  async close(): Promise<void> {}
}
