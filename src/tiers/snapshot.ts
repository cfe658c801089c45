import type { ClientDb } from '../warehouse/client-db.js';

/** What inSnapshot runs first in its transaction, for a caller that sends it along with its own first statements. */
export const SNAPSHOT_SETTINGS = `set transaction isolation level repeatable read, read only;
                    lock table fact_rates_history in access share mode;
                    set local TimeZone = 'UTC';
                    set local DateStyle = 'ISO';
                    set local max_parallel_workers_per_gather = 0`;

/**
 * Runs fn in one read-only REPEATABLE READ transaction (one snapshot for every statement of it), with
 * timestamps rendered in UTC and ISO style, as the archive row CSV expects. fact_rates_history and its
 * partitions are locked (ACCESS SHARE) before the snapshot is taken, so no partition can be detached
 * between the snapshot and the reads: a month is then either in the snapshot's partitions or, archived,
 * in its manifest, never in neither. No parallel workers: starting them costs more than the scans here (the
 * hot tier's key, one month's partition) take. On one connection (fn may COPY on tx.client).
 */
export function inSnapshot<D extends ClientDb, T>(db: D, fn: (tx: D) => Promise<T>): Promise<T> {
  return db.transaction(async (tx) => {
    // One round trip: statements without parameters go as one simple query.
    await tx.query(SNAPSHOT_SETTINGS);
    return fn(tx);
  });
}
