import { CompiledQuery, Kysely, PostgresDialect, type Transaction } from 'kysely';
import type pg from 'pg';
import { SpareConnection } from './direct.js';
import type { Db, Row } from './db.js';

/** The pooled access path: Kysely over a pg.Pool; raw SQL runs as compiled queries with parameters. */
export class PooledDb implements Db {
  readonly driver = 'pooled' as const;
  readonly #lockSession: SpareConnection | null;

  constructor(
    readonly kysely: Kysely<any>,
    pool: pg.Pool | null,
  ) {
    this.#lockSession = pool ? new SpareConnection(pool.options) : null;
  }

  static fromPool(pool: pg.Pool): PooledDb {
    return new PooledDb(new Kysely<any>({ dialect: new PostgresDialect({ pool }) }), pool);
  }

  async query<R extends Row = Row>(text: string, params: readonly unknown[] = []): Promise<R[]> {
    const result = await this.kysely.executeQuery<R>(CompiledQuery.raw(text, [...params]));
    return [...result.rows];
  }

  async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    if (this.kysely.isTransaction) return fn(this);
    return this.kysely.transaction().execute((trx: Transaction<any>) => fn(new PooledDb(trx, null)));
  }

  async lockSession(): Promise<Db> {
    if (!this.#lockSession) throw new Error('a transaction has no lock session of its own');
    return this.#lockSession.get();
  }

  async close(): Promise<void> {
    if (!this.#lockSession) return;
    await this.#lockSession.close();
    await this.kysely.destroy();
  }
}
