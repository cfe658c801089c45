/**
 * The one interface every piece of warehouse logic is written against. Two implementations mirror
 * the seed's psycopg2-vs-SQLAlchemy-Core decision: `direct` (one node-postgres connection, for batch
 * commands) and `pooled` (Kysely over a pg.Pool, for concurrent readers).
 */
export type Driver = 'direct' | 'pooled';
export type Row = Record<string, unknown>;

export interface Db {
  readonly driver: Driver;
  /** Runs one statement; every value goes in params. */
  query<R extends Row = Row>(text: string, params?: readonly unknown[]): Promise<R[]>;
  /** Runs fn in one transaction (BEGIN … COMMIT, ROLLBACK on throw). Nested calls join the outer one. */
  transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T>;
  /** A new connection to the same database on the direct path, closed by the caller (e.g. to hold a lock for a job's life). */
  fork(): Promise<Db>;
  close(): Promise<void>;
}
