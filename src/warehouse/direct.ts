import pg from 'pg';
import type { Db, Row } from './db.js';

/** The direct access path: one node-postgres connection and hand-written SQL. */
export class DirectDb implements Db {
  readonly driver = 'direct' as const;
  #inTransaction = false;

  constructor(
    readonly client: pg.Client,
    private readonly settings: pg.ClientConfig = {},
  ) {}

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

  async fork(): Promise<Db> {
    return connectDirect(this.settings);
  }

  async close(): Promise<void> {
    await this.client.end();
  }
}

/** One new connection on the direct path; the caller closes it. */
export async function connectDirect(settings: pg.ClientConfig): Promise<DirectDb> {
  const client = new pg.Client(settings);
  // A dropped connection surfaces as the failing query's error; the event itself needs a listener.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  return new DirectDb(client, settings);
}
