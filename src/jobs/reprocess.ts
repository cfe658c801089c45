import { oneLine } from '../errors.js';
import type { Logger } from '../log.js';
import { getSource } from '../sources/registry.js';
import { isSourceName } from '../sources/types.js';
import { normalize, WAREHOUSE_BASE } from '../transform/normalize.js';
import { clearRejects, storedResponses, type ReplayFilter } from '../warehouse/bronze-replay.js';
import type { SessionDb } from '../warehouse/db.js';
import { existingSourceId } from '../warehouse/dimensions.js';
import { loadRates } from '../warehouse/loader.js';
import { storeRejects } from '../warehouse/rejected.js';
import { traceRun } from './run-trace.js';
import { finishRun, type RunStatus } from '../warehouse/runs.js';
import { checkAsOf } from '../transform/as-of.js';
import { maintainReadModels } from '../warehouse/read-models.js';
import type { TouchedDays } from '../warehouse/publications.js';

export interface ReprocessOptions extends ReplayFilter {
  changeThresholdPct: number;
  lockWaitMs: number;
  /** How far past the time it was received a payload's as-of may lie; default 10 minutes. */
  asOfSkewMs?: number;
  log: Logger;
  /** The job's clock (tests); real time by default. */
  clock?: () => Date;
}

export interface ReprocessResult {
  runId: string;
  status: RunStatus;
  responses: number;
  /** Stored responses the current parsers reject as a whole (e.g. a provider error payload). */
  unusable: { extractionId: string; source: string; error: string }[];
  counts: { extracted: number; loaded: number; unchanged: number; rejected: number };
  viewRefreshMs: Record<string, number>;
  elapsedMs: number;
}

/**
 * Replays stored bronze responses through today's parse → validate → load code, calling no provider:
 * a parser fix or a new change threshold applied to the past. One transaction, under the run lock;
 * idempotent (history rows already stored conflict away, rejects of a replayed response are replaced).
 */
export async function reprocess(db: SessionDb, options: ReprocessOptions): Promise<ReprocessResult> {
  const trace = {
    kind: 'reprocess' as const,
    noun: 'reprocess',
    lockWaitMs: options.lockWaitMs,
    log: options.log,
    ...(options.clock ? { clock: options.clock } : {}),
  };
  return traceRun(db, trace, async (run) => {
    await run.start(db);
    return db.transaction(async (tx) => {
      const counts = { extracted: 0, loaded: 0, unchanged: 0, rejected: 0 };
      const unusable: ReprocessResult['unusable'] = [];
      let responses = 0;
      let changed = 0;
      const touched: TouchedDays[] = [];
      for await (const stored of storedResponses(tx, options)) {
        responses++;
        if (!isSourceName(stored.source)) continue;
        const source = getSource(stored.source);
        let batch;
        try {
          const extraction = source.parseLatest({
            status: stored.status,
            headers: stored.headers,
            body: Buffer.from(stored.body),
            durationMs: 0,
          });
          checkAsOf(stored.source, extraction.asOf, stored.extractedAt, options.asOfSkewMs);
          batch = normalize(extraction);
        } catch (error) {
          unusable.push({ extractionId: stored.extractionId, source: stored.source, error: oneLine(error) });
          continue;
        }
        await clearRejects(tx, stored.extractionId);
        await storeRejects(tx, run.runId, stored.source, stored.extractionId, batch.rejects, stored.extractedAt);
        counts.extracted += batch.rates.length + batch.rejects.length;
        counts.rejected += batch.rejects.length;
        if (batch.rates.length === 0) continue;
        const sourceId = await existingSourceId(tx, stored.source, new URL(stored.requestUrl).origin);
        const loaded = await loadRates(tx, {
          runId: run.runId,
          extractionId: stored.extractionId,
          sourceId,
          base: WAREHOUSE_BASE,
          asOf: batch.asOf,
          rates: batch.rates,
          flags: new Map(),
          changeThresholdPct: options.changeThresholdPct,
          now: run.clock(),
          replay: true,
        });
        counts.loaded += loaded.loaded;
        counts.unchanged += loaded.unchanged;
        changed += loaded.updated;
        if (loaded.touched) touched.push(loaded.touched);
      }
      // Parsing the stored responses and loading them are one pass: its time is the load stage's.
      run.lap('load');
      const viewRefreshMs = await maintainReadModels(tx, touched);
      run.lap('refresh');
      const stageMs = run.stageMs();
      const result: ReprocessResult = {
        runId: run.runId,
        status: changed > 0 ? 'loaded' : 'unchanged',
        responses,
        unusable,
        counts,
        viewRefreshMs,
        elapsedMs: Math.round(stageMs.total),
      };
      await finishRun(tx, {
        runId: run.runId,
        status: result.status,
        sourceUsed: options.source ?? null,
        failover: false,
        counts,
        stageMs,
        viewRefreshMs,
        finishedAt: run.clock().toISOString(),
      });
      run.log.info({ responses, ...counts }, 'reprocess finished');
      return result;
    });
  });
}
