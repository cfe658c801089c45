import pg from 'pg';
import type { Db, Row } from './db.js';

/** The direct access path: one node-postgres connection and hand-written SQL. */
export class DirectDb implements Db {
  readonly driver = 'direct' as const;
  #inTransaction = false;

  constructor(readonly client: pg.Client) {}

  async query<R extends Row = Row>(text: string, params: readonly unknown[] = []): Promise<R[]> {
    const result = await this.client.query<R>(text, params as unknown[]);
    return result.rows;
  }

  async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
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

  async close(): Promise<void> {
    await this.client.end();
  }
}
