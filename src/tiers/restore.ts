import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FxpipeError, usageError } from '../errors.js';
import type { Logger } from '../log.js';
import type { DirectDb } from '../warehouse/direct.js';
import { ensurePartitions } from '../warehouse/partitions.js';
import { acquireRunLock } from '../warehouse/run-lock.js';
import { DUCK_RESTORE_ROWS, KEY_ORDER, RESTORE_COLUMNS } from './archive-row.js';
import { Duck, sqlPath } from './duck.js';
import { fingerprintDifference, parquetFingerprint, stagedRowsFingerprint, type Fingerprint } from './fingerprint.js';
import { hasPartition, historyLocks } from './history-partitions.js';
import { monthKey, splitArchiveUri } from './layout.js';
import { advanceState, manifestEntry, type ManifestEntry } from './manifest.js';
import { firstDay, lastDay, type Month } from '../calendar/months.js';
import { partitionOf } from './partition-names.js';
import { copyCsvToTable } from './pg-copy.js';
import { withObjectStore } from './store-lifetime.js';
import { lockInOrder, retryGivingWay, withTieringLock } from './tiering-lock.js';

export interface RestoreOptions {
  month: Month;
  /** The store to read from (a directory or s3://bucket/prefix); default: where the manifest says the month went. */
  from?: string;
  lockWaitMs: number;
  log: Logger;
}

/** restored: the partition is back; already_hot: nothing to do, the month's partition is in PostgreSQL. */
export interface RestoreResult {
  month: Month;
  partition: string;
  /** Where the file was read from (already_hot: where the manifest says it is). */
  uri: string;
  outcome: 'restored' | 'already_hot';
  /** Rows of the archived file. */
  rows: number;
  /** Rows inserted; fewer than rows when some were already there (loaded again after archiving). */
  inserted: number;
  elapsedMs: number;
}

const STAGE = 'restore_stage';

/**
 * Brings an archived month back into PostgreSQL: the file is downloaded and must match the manifest's
 * fingerprint; its rows are COPYed into a staging table; then, in one transaction under the run lock, the
 * month's partition is ensured, the rows inserted (a key already present is kept), and the partition's rows
 * with the archived keys must have the manifest's fingerprint again before the manifest says 'restored'.
 */
export async function restoreMonth(db: DirectDb, options: RestoreOptions): Promise<RestoreResult> {
  const t0 = performance.now();
  const { month } = options;
  return withTieringLock(db, async () => {
    const entry = await manifestEntry(db, month);
    if (!entry) throw usageError(`${month} was never archived (not in archive_manifest): nothing to restore`);
    const partition = partitionOf(month);
    const done = (outcome: RestoreResult['outcome'], inserted: number): RestoreResult => ({
      month,
      partition,
      uri: entry.uri,
      outcome,
      rows: entry.rows,
      inserted,
      elapsedMs: Math.round(performance.now() - t0),
    });
    if (entry.state !== 'archived' && (await hasPartition(db, month))) return done('already_hot', 0);

    const dir = await mkdtemp(path.join(os.tmpdir(), 'fxpipe-restore-'));
    const duck = await Duck.open();
    try {
      return await withObjectStore(options.from ?? splitArchiveUri(entry.uri).root, async (store) => {
        const key = monthKey(month);
        const parquet = path.join(dir, `${month}.parquet`);
        const csv = path.join(dir, `${month}.csv`);
        await store.get(key, parquet);
        const difference = fingerprintDifference(entry, await parquetFingerprint(duck, parquet));
        if (difference)
          throw new FxpipeError(`cannot restore ${month}: ${store.uri(key)} holds ${difference} (the manifest's fingerprint)`);
        await duck.run(`copy (${DUCK_RESTORE_ROWS}) to ${sqlPath(csv)} (format csv, header false)`, [parquet]);
        const inserted = await loadVerified(db, entry, csv, options);
        options.log.debug({ month, rows: entry.rows, inserted }, 'restore done');
        return { ...done('restored', inserted), uri: store.uri(key) };
      });
    } finally {
      duck.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
}

/**
 * The rows COPYed into a staging table first (no lock on the history), then one transaction: partition, insert,
 * fingerprint check, manifest 'restored'. Attaching the partition locks the default partition ACCESS EXCLUSIVE,
 * which readers wait for: those locks are taken first, in fx_ensure_partitions's order, in a bounded lock phase
 * (tiering-lock.ts), and the transaction is retried when it gives way. Returns rows inserted.
 */
async function loadVerified(db: DirectDb, entry: ManifestEntry, csv: string, options: RestoreOptions): Promise<number> {
  const { month } = entry;
  const partition = partitionOf(month);
  await db.query(
    `create temp table ${STAGE} (
       date_key integer not null, base_currency_id smallint not null, quote_currency_id smallint not null, source_id smallint not null,
       rate_timestamp timestamptz not null, rate numeric not null, previous_rate numeric, change_pct numeric, flags text not null,
       extraction_id uuid, run_id uuid, loaded_at timestamptz not null, change_id bigint not null
     )`,
  );
  try {
    await copyCsvToTable(db.client, `${STAGE} (${RESTORE_COLUMNS.join(', ')})`, csv);
    const locks = await historyLocks(db);
    return await retryGivingWay(`restore ${month} into ${partition}`, options.log, () =>
      db.transaction(async (tx) => {
        await acquireRunLock(tx, options.lockWaitMs);
        await lockInOrder(tx, [
          { statement: 'select fx_lock_calendar()' },
          { tables: ['fact_rates_history'], mode: 'share update exclusive', only: true },
          { tables: locks.defaultPartition ? [locks.defaultPartition] : [], mode: 'access exclusive' },
          { tables: locks.referenced, mode: 'share row exclusive' },
        ]);
        await ensurePartitions(tx, firstDay(month), lastDay(month));
        const inserted = await tx.client.query(
          `insert into fact_rates_history (${RESTORE_COLUMNS.join(', ')})
           select ${RESTORE_COLUMNS.map((column) => (column === 'flags' ? 'array(select json_array_elements_text(flags::json))' : column)).join(', ')}
             from ${STAGE} order by ${KEY_ORDER}
           on conflict do nothing`,
        );
        const restored: Fingerprint = await stagedRowsFingerprint(tx, partition, STAGE);
        const difference = fingerprintDifference(entry, restored);
        if (difference) {
          throw new FxpipeError(
            `cannot restore ${month}: after loading, ${partition} holds ${difference} for the archived keys (rows loaded after archiving differ from the archive?); nothing was changed`,
          );
        }
        await advanceState(tx, month, entry.state, 'restored');
        // The month's days were kept while it was archived; rebuilt from its history again (a month archived by a
        // version before the read models were tables gets them here).
        await tx.query(
          `select fx_rebuild_days(p.source_id, p.base_currency_id, $1::date, $2::date)
             from (select distinct source_id, base_currency_id from source_publications
                    where as_of >= fx_day_start($1::date) and as_of < fx_day_start($2::date + 1)) p`,
          [firstDay(month), lastDay(month)],
        );
        return inserted.rowCount ?? 0;
      }),
    );
  } finally {
    await db.query(`drop table if exists ${STAGE}`).catch(() => undefined);
  }
}
