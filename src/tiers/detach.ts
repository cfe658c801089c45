import type { Logger } from '../log.js';
import type { Db } from '../warehouse/db.js';
import { acquireRunLock } from '../warehouse/run-lock.js';
import { fingerprintDifference, partitionFingerprint, type Fingerprint } from './fingerprint.js';
import { checkedDetached, detachedName, detachedPartitions, referencedTables, type HistoryLocks } from './history-partitions.js';
import { advanceState } from './manifest.js';
import { type Month } from '../calendar/months.js';
import { partitionOf } from './partition-names.js';
import { LocksBusy, lockInOrder, RETRIES, retryGivingWay } from './tiering-lock.js';

/**
 * Taking an archived month out of PostgreSQL, in two transactions so that readers never deadlock with it (see
 * tiering-lock.ts and docs/tiering.md, "Locks"):
 *
 * 1. detach: the partition leaves fact_rates_history and is renamed, and the manifest says 'archived', in one
 *    commit. It locks the history (which readers wait for) but only SHARE ROW EXCLUSIVE on the dimension tables
 *    (which no reader waits for).
 * 2. drop: the detached table is dropped. It locks the dimension tables ACCESS EXCLUSIVE (dropping the table's
 *    foreign keys needs that) but no longer the history. When readers keep those locks busy the table is left for
 *    the end of the archive, or the next one: it holds only rows the verified file holds, and nothing reads it.
 */

export interface DetachOptions {
  lockWaitMs: number;
  log: Logger;
}

/**
 * One transaction: the run lock (no job loads meanwhile); the partition locked against writes (readers go on) and
 * its fingerprint compared with the verified copy's; then the lock phase, detach, rename and 'archived'. Returns the
 * detached table's name, or null (nothing changed) when the partition differs from the copy. Retried when it gives
 * way to a reader; LocksBusy when readers kept the locks through every attempt.
 */
export function detachVerified(
  db: Db,
  month: Month,
  verified: Fingerprint,
  locks: HistoryLocks,
  options: DetachOptions,
): Promise<string | null> {
  const partition = partitionOf(month);
  return retryGivingWay(`detach ${partition}`, options.log, () =>
    db.transaction(async (tx) => {
      await acquireRunLock(tx, options.lockWaitMs);
      await lockInOrder(tx, [{ tables: [partition], mode: 'exclusive' }]);
      if (fingerprintDifference(verified, await partitionFingerprint(tx, partition)) !== null) return null;
      // The order readers take them in: the history, then its partitions; the dimension tables in a mode readers never wait for.
      await lockInOrder(tx, [
        { tables: ['fact_rates_history'], mode: 'access exclusive', only: true },
        { tables: [partition, ...(locks.defaultPartition ? [locks.defaultPartition] : [])], mode: 'access exclusive' },
        { tables: locks.referenced, mode: 'share row exclusive' },
      ]);
      const detached = detachedName(month);
      await tx.query(`alter table fact_rates_history detach partition ${partition}`);
      await tx.query(`alter table ${partition} rename to ${detached}`);
      await advanceState(tx, month, 'verified', 'archived');
      return detached;
    }),
  );
}

/** Quick tries for the drop right after a detach; the sweep at the end of the archive tries as long as a detach. */
const QUICK_DROP_RETRIES = 2;

/**
 * Drops a detached partition; false when readers kept the locks (the table is left for a later sweep).
 *
 * Its foreign keys go first, one referenced table per transaction: dropping one removes triggers on the referenced
 * table (ACCESS EXCLUSIVE there), and a transaction that waits for that one lock while holding only the detached table,
 * which nothing reads, can be in no cycle with a reader, so it may wait the longest bound. Waiting for all the
 * dimension tables in one transaction held the first while waiting for the next, which readers can hold while they
 * wait for the first: under steady reads every attempt gave way. The table, without foreign keys, then drops alone.
 */
export async function dropDetached(db: Db, table: string, log: Logger, retries = QUICK_DROP_RETRIES): Promise<boolean> {
  const name = checkedDetached(table);
  try {
    for (const referenced of await referencedTables(db, name)) {
      await retryGivingWay(
        `drop the foreign keys of ${name} on ${referenced}`,
        log,
        () =>
          db.transaction(async (tx) => {
            await lockInOrder(tx, [
              { tables: [name], mode: 'access exclusive' },
              { tables: [referenced], mode: 'access exclusive' },
            ]);
            for (const constraint of await foreignKeys(tx, name, referenced))
              await tx.query(`alter table ${name} drop constraint ${constraint}`);
          }),
        retries,
      );
    }
    await retryGivingWay(
      `drop ${name}`,
      log,
      () =>
        db.transaction(async (tx) => {
          await lockInOrder(tx, [
            { tables: [name], mode: 'access exclusive' },
            { tables: await referencedTables(tx, name), mode: 'access exclusive' },
          ]);
          await tx.query(`drop table ${name}`);
        }),
      retries,
    );
    return true;
  } catch (error) {
    if (!(error instanceof LocksBusy)) throw error;
    log.debug({ table: name }, 'drop of a detached partition deferred: readers keep the dimension tables busy');
    return false;
  }
}

/** The foreign keys of a table on one referenced table, as quoted identifiers from the catalog. */
async function foreignKeys(tx: Db, table: string, referenced: string): Promise<string[]> {
  const rows = await tx.query<{ name: string }>(
    `select quote_ident(conname) as name from pg_constraint where conrelid = $1::regclass and confrelid = $2::regclass and contype = 'f' order by 1`,
    [table, referenced],
  );
  return rows.map((r) => r.name);
}

/** Drops every detached partition left; returns the ones readers kept from being dropped. */
export async function sweepDetached(db: Db, log: Logger): Promise<string[]> {
  const left: string[] = [];
  for (const table of await detachedPartitions(db)) {
    if (!(await dropDetached(db, table, log, RETRIES))) left.push(table);
  }
  return left;
}
