import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { oneLine } from '../errors.js';
import type { Logger } from '../log.js';
import type { DirectDb } from '../warehouse/direct.js';
import { detachVerified, dropDetached, sweepDetached } from './detach.js';
import { Duck } from './duck.js';
import { fingerprintDifference, parquetFingerprint, type Fingerprint } from './fingerprint.js';
import { historyLocks, monthlyPartitions, partitionRows, type HistoryLocks, type MonthlyPartition } from './history-partitions.js';
import { monthKey } from './layout.js';
import { advanceState, manifestEntry, recordUploaded } from './manifest.js';
import { exportPartition, writeParquet } from './month-export.js';
import { MonthSkipped } from './month-skip.js';
import { lastDay, type Month } from '../calendar/months.js';
import type { ObjectStore } from './object-store.js';
import { LocksBusy, withTieringLock } from './tiering-lock.js';

export interface ArchiveOptions {
  store: ObjectStore;
  /** YYYY-MM-DD: a month is archived when its last day is before this day. */
  cutoff: string;
  dryRun: boolean;
  lockWaitMs: number;
  log: Logger;
  onProgress?: (progress: ArchiveProgress) => void;
}

export type ArchiveStep = 'export' | 'upload' | 'verify' | 'drop';

export interface ArchiveProgress {
  monthsDone: number;
  monthsTotal: number;
  month: Month | null;
  step: ArchiveStep | null;
  rowsArchived: number;
}

/**
 * archived: the file is verified and the partition dropped (resumed: a previous, interrupted archive had
 * verified it already). would_archive: what --dry-run would do. shadowed: the month is archived, yet a
 * partition for it exists again (a load after archiving); left alone, see docs/tiering.md. skipped: the month
 * could not be archived exactly (reason says why) and stays in PostgreSQL; the archive went on with the others.
 */
export type MonthOutcome = 'archived' | 'would_archive' | 'shadowed' | 'skipped';

export interface MonthReport {
  month: Month;
  partition: string;
  rows: number;
  /** Parquet bytes; null for would_archive and shadowed. */
  bytes: number | null;
  uri: string | null;
  outcome: MonthOutcome;
  resumed: boolean;
  /** Why a skipped month was skipped, one line; null for the other outcomes. */
  reason: string | null;
}

export interface ArchiveResult {
  dest: string;
  cutoff: string;
  dryRun: boolean;
  months: MonthReport[];
  rowsArchived: number;
  bytesArchived: number;
  rowsPerSecond: number;
  elapsedMs: number;
}

interface Work {
  db: DirectDb;
  duck: Duck;
  dir: string;
  options: ArchiveOptions;
  locks: HistoryLocks;
  step(month: Month, step: ArchiveStep): void;
}

/**
 * Moves every monthly partition that ended before the cutoff to the store, oldest first: export (one
 * snapshot) → Parquet → upload (manifest 'uploaded') → read back and compare fingerprints ('verified') →
 * in one transaction under the run lock, the partition checked unchanged and detached ('archived') → dropped.
 * Each step's outcome is in the manifest or the catalog, so a rerun after a kill anywhere resumes safely.
 * A month that cannot be archived exactly is skipped with its reason; the others go on.
 */
export async function archiveHistory(db: DirectDb, options: ArchiveOptions): Promise<ArchiveResult> {
  const t0 = performance.now();
  return withTieringLock(db, async () => {
    const candidates = (await monthlyPartitions(db)).filter((p) => lastDay(p.month) < options.cutoff);
    const months: MonthReport[] = [];
    const finish = (): ArchiveResult => {
      const archived = months.filter((m) => m.outcome === 'archived');
      const rowsArchived = archived.reduce((n, m) => n + m.rows, 0);
      const elapsedMs = Math.round(performance.now() - t0);
      return {
        dest: options.store.root,
        cutoff: options.cutoff,
        dryRun: options.dryRun,
        months,
        rowsArchived,
        bytesArchived: archived.reduce((n, m) => n + (m.bytes ?? 0), 0),
        rowsPerSecond: Math.round(rowsArchived / Math.max(elapsedMs / 1000, 0.001)),
        elapsedMs,
      };
    };
    if (options.dryRun) {
      for (const partition of candidates) months.push(await plannedMonth(db, partition));
      return finish();
    }
    const dir = await mkdtemp(path.join(os.tmpdir(), 'fxpipe-archive-'));
    const duck = await Duck.open();
    const progress = (month: Month | null, step: ArchiveStep | null) =>
      options.onProgress?.({
        monthsDone: months.length,
        monthsTotal: candidates.length,
        month,
        step,
        rowsArchived: months.reduce((n, m) => n + (m.outcome === 'archived' ? m.rows : 0), 0),
      });
    try {
      await dropLeftovers(db, options.log);
      const work: Work = { db, duck, dir, options, locks: await historyLocks(db), step: progress };
      progress(candidates[0]?.month ?? null, null);
      for (const partition of candidates) {
        const report = await archiveMonth(work, partition);
        months.push(report);
        options.log.debug({ ...report }, 'archive month done');
        progress(partition.month, null);
      }
      await dropLeftovers(db, options.log);
      return finish();
    } finally {
      duck.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
}

async function plannedMonth(db: DirectDb, partition: MonthlyPartition): Promise<MonthReport> {
  const entry = await manifestEntry(db, partition.month);
  const outcome = entry?.state === 'archived' ? 'shadowed' : 'would_archive';
  return {
    month: partition.month,
    partition: partition.name,
    rows: await partitionRows(db, partition),
    bytes: null,
    uri: null,
    outcome,
    resumed: false,
    reason: null,
  };
}

/** Drops the detached partitions readers kept from being dropped so far; those still left wait for the next archive. */
async function dropLeftovers(db: DirectDb, log: Logger): Promise<void> {
  const left = await sweepDetached(db, log);
  if (left.length)
    log.warn(
      { tables: left },
      'detached partitions of archived months not dropped yet (readers kept their locks); the next archive drops them',
    );
}

async function archiveMonth(work: Work, partition: MonthlyPartition): Promise<MonthReport> {
  const { db, options } = work;
  const { month } = partition;
  const entry = await manifestEntry(db, month);
  if (entry?.state === 'archived') {
    options.log.warn(
      { month, partition: partition.name },
      'month is archived but its partition exists again: rows were loaded after archiving; see docs/tiering.md',
    );
    return {
      month,
      partition: partition.name,
      rows: await partitionRows(db, partition),
      bytes: null,
      uri: entry.uri,
      outcome: 'shadowed',
      resumed: false,
      reason: null,
    };
  }
  try {
    const key = monthKey(month);
    if (entry?.state === 'verified' && (await options.store.head(key))?.bytes === entry.bytes) {
      if (await detachAndDrop(work, month, entry)) {
        return {
          month,
          partition: partition.name,
          rows: entry.rows,
          bytes: entry.bytes,
          uri: entry.uri,
          outcome: 'archived',
          resumed: true,
          reason: null,
        };
      }
      options.log.warn({ month }, 'the partition changed since its copy was verified; archiving it again');
    }
    const copy = await storeVerifiedCopy(work, partition, key);
    if (!(await detachAndDrop(work, month, copy))) {
      throw new MonthSkipped(
        `${partition.name} changed while it was being archived (rows loaded meanwhile?); its partition is kept, rerun fxpipe archive`,
      );
    }
    return {
      month,
      partition: partition.name,
      rows: copy.rows,
      bytes: copy.bytes,
      uri: copy.uri,
      outcome: 'archived',
      resumed: false,
      reason: null,
    };
  } catch (error) {
    if (!(error instanceof MonthSkipped || error instanceof LocksBusy)) throw error;
    options.log.warn({ month, partition: partition.name, reason: error.message }, 'month skipped: it stays in PostgreSQL');
    return {
      month,
      partition: partition.name,
      rows: await partitionRows(db, partition),
      bytes: null,
      uri: null,
      outcome: 'skipped',
      resumed: false,
      reason: error.message,
    };
  }
}

/** Export, Parquet, upload ('uploaded'), download and compare ('verified'). Returns what the manifest now holds. */
async function storeVerifiedCopy(
  work: Work,
  partition: MonthlyPartition,
  key: string,
): Promise<Fingerprint & { bytes: number; uri: string }> {
  const { db, duck, dir, options } = work;
  const { month } = partition;
  const csv = path.join(dir, `${month}.csv`);
  const parquet = path.join(dir, `${month}.parquet`);
  const readBack = path.join(dir, `${month}.read-back.parquet`);
  try {
    work.step(month, 'export');
    const source = await exportPartition(db, partition.name, csv);
    await writeParquet(duck, csv, parquet);
    work.step(month, 'upload');
    const stored = await options.store.put(parquet, key);
    const uri = options.store.uri(key);
    await recordUploaded(db, { month, partitionName: partition.name, uri, bytes: stored.bytes, ...source });
    work.step(month, 'verify');
    const fetched = await options.store.get(key, readBack);
    const difference =
      fetched.bytes !== stored.bytes
        ? `${fetched.bytes} bytes instead of ${stored.bytes}`
        : fingerprintDifference(source, await readBackFingerprint(duck, readBack, uri));
    if (difference) throw new MonthSkipped(`its copy failed verification: ${uri} holds ${difference}; the partition is kept`);
    await advanceState(db, month, 'uploaded', 'verified');
    return { ...source, bytes: stored.bytes, uri };
  } finally {
    await Promise.all([csv, parquet, readBack].map((file) => rm(file, { force: true })));
  }
}

/** The fingerprint of the copy read back; MonthSkipped when DuckDB cannot read it (it is no Parquet file of ours). */
async function readBackFingerprint(duck: Duck, file: string, uri: string): Promise<Fingerprint> {
  try {
    return await parquetFingerprint(duck, file);
  } catch (error) {
    throw new MonthSkipped(`its copy failed verification: ${uri} cannot be read back (${oneLine(error)}); the partition is kept`, error);
  }
}

/**
 * The partition, still equal to the verified copy, detached ('archived'), then dropped (see detach.ts). Returns
 * false (nothing changed) when the partition differs from the copy.
 */
async function detachAndDrop(work: Work, month: Month, verified: Fingerprint): Promise<boolean> {
  const { db, options } = work;
  work.step(month, 'drop');
  const detached = await detachVerified(db, month, verified, work.locks, options);
  if (detached === null) return false;
  await dropDetached(db, detached, options.log);
  return true;
}
