import type { Logger } from '../log.js';
import type { DayRange } from '../sources/day-range.js';
import type { ChunkedHistory, HistoryChunk } from '../sources/history-chunks.js';
import { normalize, WAREHOUSE_BASE, type NormalizedBatch } from '../transform/normalize.js';
import { isChunkLoaded, recordChunk, type ChunkKey } from '../warehouse/backfill-chunks.js';
import { storeAttempt, storeFileExtract } from '../warehouse/bronze.js';
import { ensureDates } from '../warehouse/calendar.js';
import type { Db } from '../warehouse/db.js';
import { existingSourceId, upsertCurrencies } from '../warehouse/dimensions.js';
import type { DirectDb } from '../warehouse/direct.js';
import { ensurePartitions } from '../warehouse/partitions.js';
import { storeRejects } from '../warehouse/rejected.js';
import { traceRun } from './run-trace.js';
import { finishRun, type RunStatus } from '../warehouse/runs.js';
import { maintainReadModels } from '../warehouse/read-models.js';
import { writePublications, type PublicationToWrite } from '../warehouse/publication-writer.js';

export interface BackfillOptions {
  /** Opened inside the backfill, so a download or a file that cannot be read is a failed backfill. */
  history: () => Promise<ChunkedHistory>;
  range: DayRange;
  /** The source's endpoint for dim_source when the source is new there. */
  endpoint: string;
  changeThresholdPct: number;
  lockWaitMs: number;
  log: Logger;
  /** The job's clock (tests); real time by default. */
  clock?: () => Date;
  onProgress?: (progress: BackfillProgress) => void;
}

export interface BackfillProgress {
  chunksDone: number;
  chunksTotal: number;
  rowsRead: number;
  elapsedMs: number;
  /** The chunk just finished (or, before the first, the first one). */
  chunk: DayRange | null;
}

export interface ChunkOutcome {
  from: string;
  to: string;
  /** skipped: loaded before from the same input under the same threshold. */
  status: 'loaded' | 'skipped';
  read: number;
  loaded: number;
  unchanged: number;
  rejected: number;
  extractionId: string | null;
  /** Time spent rebuilding the chunk's days in rates_daily and rates_monthly. */
  refreshMs: number;
  /** fact_rates_current rows the chunk moved forward to a newer rate (or added). */
  currentUpdated: number;
}

export interface BackfillCounts {
  chunksLoaded: number;
  chunksSkipped: number;
  /** Values read: loaded + unchanged + rejected. */
  read: number;
  /** History rows added. */
  loaded: number;
  /** Values already stored, or within the change threshold of the pair's previous stored rate. */
  unchanged: number;
  rejected: number;
}

export interface BackfillResult {
  runId: string;
  status: Exclude<RunStatus, 'failed'>;
  source: string;
  location: string;
  from: string;
  to: string;
  changeThresholdPct: number;
  counts: BackfillCounts;
  chunks: ChunkOutcome[];
  /** fact_rates_current rows moved forward to a newer backfilled rate (or added). */
  currentUpdated: number;
  rowsPerSecond: number;
  elapsedMs: number;
  viewRefreshMs: Record<string, number>;
  startedAt: string;
  finishedAt: string;
}

interface ChunkContext {
  runId: string;
  source: string;
  sourceId: number;
  options: BackfillOptions;
  clock: () => Date;
}

/**
 * Loads history a chunk (a calendar year) at a time, oldest first, each chunk in its own transaction under
 * the run lock: bronze, rejects, a change-detected COPY into fact_rates_history (through a staging table when the
 * source has publications among the chunk's as-ofs already, so that what is stored is not added twice),
 * and the chunk's record in backfill_chunks, all or nothing. A chunk already recorded with the same content
 * and threshold is skipped, so a killed backfill resumes where it stopped and a rerun adds nothing. Then
 * fact_rates_current moves forward where the backfill holds newer rates, and the views are refreshed once.
 */
export async function runBackfill(db: DirectDb, options: BackfillOptions): Promise<BackfillResult> {
  const trace = {
    kind: 'backfill' as const,
    noun: 'backfill',
    lockWaitMs: options.lockWaitMs,
    log: options.log,
    ...(options.clock ? { clock: options.clock } : {}),
  };
  let history: ChunkedHistory | null = null;
  try {
    // The run lock is held on its own connection for the whole backfill: no other loading job meanwhile, and `status`
    // sees the backfill alive exactly as long as its process is. A failed chunk rolls back; the chunks before it stay
    // loaded and recorded, for the rerun to skip.
    return await traceRun(db, trace, async (run) => {
      await run.start(db);
      const outcomes: ChunkOutcome[] = [];
      const opened = (history = await options.history());
      run.failure.sourceUsed = opened.source;
      const sourceId = await db.transaction((tx) => existingSourceId(tx, opened.source, options.endpoint));
      const context: ChunkContext = { runId: run.runId, source: opened.source, sourceId, options, clock: run.clock };
      let chunk: DayRange | null = opened.plan[0] ?? null;
      const progress = () =>
        options.onProgress?.({
          chunksDone: outcomes.length,
          chunksTotal: opened.plan.length,
          rowsRead: totals(outcomes).read,
          elapsedMs: run.stageMs().total,
          chunk,
        });
      progress();
      for (const days of opened.plan) {
        chunk = days;
        run.failure.where = ` at chunk ${days.from}..${days.to}`;
        const outcome = await loadChunk(db, await opened.read(days), context);
        outcomes.push(outcome);
        run.failure.counts = runCounts(totals(outcomes));
        run.log.debug({ ...outcome }, 'backfill chunk done');
        progress();
      }
      chunk = null;
      delete run.failure.where;
      run.lap('load');

      return db.transaction(async (tx) => {
        // Each chunk moved the current rates to its own latest values, in the one publication writer.
        const currentUpdated = outcomes.reduce((n, o) => n + o.currentUpdated, 0);
        // Each chunk rebuilt its days' read models inside its own load: that share of the load is the refresh stage.
        const refreshMs = outcomes.reduce((ms, o) => ms + o.refreshMs, 0);
        const stageMs = run.stageMs();
        run.set('load', stageMs.load - refreshMs);
        run.set('refresh', refreshMs);
        // Keyed by source, as a run's are.
        const viewRefreshMs = { [opened.source]: Math.round(refreshMs * 1000) / 1000 };
        const elapsedMs = Math.round(stageMs.total);
        const counts = totals(outcomes);
        const result: BackfillResult = {
          runId: run.runId,
          status: counts.loaded > 0 || currentUpdated > 0 ? 'loaded' : 'unchanged',
          source: opened.source,
          location: opened.location,
          from: options.range.from,
          to: options.range.to,
          changeThresholdPct: options.changeThresholdPct,
          counts,
          chunks: outcomes,
          currentUpdated,
          rowsPerSecond: Math.round(counts.read / Math.max(elapsedMs / 1000, 0.001)),
          elapsedMs,
          viewRefreshMs,
          startedAt: run.startedAt.toISOString(),
          finishedAt: run.clock().toISOString(),
        };
        await finishRun(tx, {
          runId: run.runId,
          status: result.status,
          sourceUsed: result.source,
          failover: false,
          counts: runCounts(counts),
          stageMs: run.stageMs(),
          viewRefreshMs,
          finishedAt: result.finishedAt,
        });
        return result;
      });
    });
  } finally {
    await (history as ChunkedHistory | null)?.close();
  }
}

/**
 * One chunk: skipped when already loaded; else its raw input committed to bronze on its own, then validated,
 * change-detected and bulk-loaded in one transaction.
 */
async function loadChunk(db: DirectDb, chunk: HistoryChunk, context: ChunkContext): Promise<ChunkOutcome> {
  const { runId, source, sourceId, options } = context;
  const { days } = chunk;
  const key: ChunkKey = {
    source,
    from: days.from,
    to: days.to,
    contentSha256: chunk.contentSha256,
    changeThresholdPct: options.changeThresholdPct,
  };
  if (await isChunkLoaded(db, key)) {
    return {
      from: days.from,
      to: days.to,
      status: 'skipped',
      read: 0,
      loaded: 0,
      unchanged: 0,
      rejected: 0,
      extractionId: null,
      refreshMs: 0,
      currentUpdated: 0,
    };
  }
  const extractionId = await storeRaw(db, runId, source, chunk);
  return db.transaction(async (tx) => {
    await ensureDates(tx, days.from, days.to);
    await ensurePartitions(tx, days.from, days.to);
    const batches = (await chunk.parse()).map(normalize);
    const rejects = batches.flatMap((batch) => batch.rejects);
    await storeRejects(tx, runId, source, extractionId, rejects, context.clock());

    const ids = await upsertCurrencies(tx, [WAREHOUSE_BASE, ...batches.flatMap((batch) => batch.rates.map((rate) => rate.quote))]);
    // The chunk's publications through the one publication writer, its history rows streamed with COPY; as-ofs already
    // loaded are decided again (a backfill under a lower change threshold adds the values a higher one skipped).
    const written = await writePublications(
      tx,
      chunkPublications(batches, (quote) => ids.get(quote)!),
      {
        sourceId,
        baseId: ids.get(WAREHOUSE_BASE)!,
        changeThresholdPct: options.changeThresholdPct,
        runId,
        extractionId,
        now: context.clock(),
        decideAgain: true,
        reloadArchived: true,
        copy: tx,
      },
    );
    let refreshMs = 0;
    if (written.touched) {
      const started = performance.now();
      await maintainReadModels(tx, [written.touched]);
      refreshMs = performance.now() - started;
    }
    const loadedRows = written.historyRows - written.restatedRows;
    const values = batches.reduce((n, batch) => n + batch.rates.length, 0);
    await recordChunk(tx, {
      ...key,
      rowsRead: values + rejects.length,
      rowsLoaded: loadedRows,
      rowsRejected: rejects.length,
      extractionId,
      runId,
    });
    return {
      from: days.from,
      to: days.to,
      status: 'loaded',
      read: values + rejects.length,
      loaded: loadedRows,
      unchanged: values - loadedRows,
      rejected: rejects.length,
      extractionId,
      refreshMs,
      currentUpdated: written.currentRows,
    };
  });
}

/** The chunk's batches with rates as publications: each its as-of and its values by quote id. */
function chunkPublications(batches: NormalizedBatch[], quoteId: (code: string) => number): PublicationToWrite[] {
  return batches
    .filter((batch) => batch.rates.length > 0)
    .map((batch) => ({ asOf: batch.asOf, values: new Map(batch.rates.map((rate) => [quoteId(rate.quote), rate.value])) }));
}

/** The chunk's raw input in bronze, before it is parsed: each HTTP attempt, or the file's text. Returns the extraction id of what is loaded. */
async function storeRaw(tx: Db, runId: string, source: string, chunk: HistoryChunk): Promise<string> {
  const params = { from: chunk.days.from, to: chunk.days.to };
  const { raw } = chunk;
  if (raw.kind === 'file') {
    return storeFileExtract(tx, runId, 'backfill', {
      source,
      location: raw.location,
      params,
      body: raw.body,
      extractedAt: raw.readAt,
      durationMs: raw.durationMs,
    });
  }
  let extractionId = '';
  for (const attempt of raw.attempts) {
    const recorded = { ...attempt, request: { ...attempt.request, params: { ...attempt.request.params, ...params } } };
    extractionId = await storeAttempt(tx, runId, 'backfill', recorded, attempt.startedAt);
  }
  return extractionId;
}

function totals(outcomes: ChunkOutcome[]): BackfillCounts {
  const sum = (key: 'read' | 'loaded' | 'unchanged' | 'rejected') => outcomes.reduce((n, o) => n + o[key], 0);
  return {
    chunksLoaded: outcomes.filter((o) => o.status === 'loaded').length,
    chunksSkipped: outcomes.filter((o) => o.status === 'skipped').length,
    read: sum('read'),
    loaded: sum('loaded'),
    unchanged: sum('unchanged'),
    rejected: sum('rejected'),
  };
}

function runCounts(counts: BackfillCounts) {
  return { extracted: counts.read, loaded: counts.loaded, unchanged: counts.unchanged, rejected: counts.rejected };
}
