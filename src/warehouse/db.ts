/**
 * The one interface warehouse logic is written against. Both access paths are node-postgres: `direct` (one
 * connection, for batch commands; it also streams COPY) and `pooled` (a pg.Pool, for concurrent readers).
 */
export type Driver = 'direct' | 'pooled';
export type Row = Record<string, unknown>;

export interface TransactionOptions {
  /**
   * Abandons the transaction when it aborts: its connection is dropped at once, so a statement in progress fails here
   * and the server rolls back as soon as it notices (at once when idle; within client_connection_check_interval
   * while a statement runs, when the transaction set it).
   */
  signal?: AbortSignal;
}

export interface Db {
  readonly driver: Driver;
  /** Runs one statement; every value goes in params. Without params, text may hold several statements (a migration). */
  query<R extends Row = Row>(text: string, params?: readonly unknown[]): Promise<R[]>;
  /** Runs fn in one transaction (BEGIN … COMMIT, ROLLBACK on throw). Nested calls join the outer one. */
  transaction<T>(fn: (tx: Db) => Promise<T>, options?: TransactionOptions): Promise<T>;
  close(): Promise<void>;
}

/** A Db that holds its own connections (either access path; not a transaction's): the jobs run on one. */
export interface SessionDb extends Db {
  /**
   * A second connection to the same database, for a lock a job holds for its whole life while its own
   * transactions commit on this one. Opened on first use, reused by later jobs, closed with this Db.
   */
  lockSession(): Promise<Db>;
}
