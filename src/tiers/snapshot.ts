import type { Db } from '../warehouse/db.js';

/**
 * Runs fn in one read-only REPEATABLE READ transaction (one snapshot for every statement of it), with
 * timestamps rendered in UTC and ISO style, as the archive row CSV expects.
 */
export function inSnapshot<T>(db: Db, fn: (tx: Db) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.query('set transaction isolation level repeatable read, read only');
    await tx.query(`select set_config('TimeZone', 'UTC', true), set_config('DateStyle', 'ISO', true)`);
    return fn(tx);
  });
}
