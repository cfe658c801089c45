import { randomUUID } from 'node:crypto';
import type { Logger } from './log.js';
import { FxpipeError, oneLine } from './errors.js';
import type { SourceBreakers } from './sources/breaker.js';
import { extractLatest } from './sources/extract.js';
import type { HttpPolicy } from './sources/http.js';
import { getSource } from './sources/registry.js';
import type { Extraction, FetchAttempt, SourceName, SourceSettings } from './sources/types.js';
import { normalize, WAREHOUSE_BASE, type NormalizedBatch } from './transform/normalize.js';
import { compareWithReference, FLAG_REFERENCE_DEVIATION, FLAG_ZSCORE, zScoreOutliers, type Deviation, type ZScoreFinding } from './transform/soft-checks.js';
import { storeAttempt, type ExtractionMethod } from './warehouse/bronze.js';
import type { Db } from './warehouse/db.js';
import { upsertSource, type SourceTier } from './warehouse/dimensions.js';
import { loadRates, type PairMove } from './warehouse/loader.js';
import { ensureUpcomingPartitions } from './warehouse/partitions.js';
import { recentHistory } from './warehouse/recent-history.js';
import { storeRejects } from './warehouse/rejected.js';
import { acquireRunLock } from './warehouse/run-lock.js';
import { finishRun, markInterruptedRuns, startRun, recordFailedRun, type RunKind, type RunStatus } from './warehouse/runs.js';
import { refreshViews } from './warehouse/views.js';

export interface PipelineOptions {
  kind: RunKind;
  /** In order: the first is the primary; the next serve failover; the rest (and unused ones) verify. */
  sources: SourceName[];
  /** Extract the other sources as references to check the primary against. */
  verify: boolean;
  /** Do everything, then roll back. */
  dryRun: boolean;
  changeThresholdPct: number;
  deviationTolerancePct: number;
  zScoreThreshold: number;
  lockWaitMs: number;
  http: HttpPolicy;
  settingsFor(source: SourceName): SourceSettings;
  /** Circuit breakers per source; a long-running process (the scheduler) keeps one set across runs. */
  breakers?: SourceBreakers;
  /** The run's clock: real time, or the demo's simulated one. */
  clock?: () => Date;
  log: Logger;
}

export type SourceRole = 'primary' | 'failover' | 'reference';

export interface SourceOutcome {
  source: SourceName;
  role: SourceRole;
  status: 'ok' | 'failed';
  attempts: number;
  asOf?: string;
  extracted: number;
  loaded: number;
  unchanged: number;
  rejected: number;
  error?: string;
}

export interface RunCounts {
  extracted: number;
  loaded: number;
  unchanged: number;
  rejected: number;
}

export interface RunResult {
  runId: string;
  kind: RunKind;
  status: RunStatus;
  dryRun: boolean;
  sourceUsed: SourceName | null;
  failover: boolean;
  asOf: string | null;
  /** Totals over every source that delivered (the one used and the references). */
  counts: RunCounts;
  sources: SourceOutcome[];
  /** Soft-check findings on the source used: flagged, and loaded. */
  flags: { zscore: ZScoreFinding[]; referenceDeviations: (Deviation & { reference: SourceName })[] };
  /** Moves of the source used against each pair's previous stored rate (for alerts). */
  moves: PairMove[];
  stageMs: Record<'lock' | 'extract' | 'normalize' | 'load' | 'refresh' | 'total', number>;
  viewRefreshMs: Record<string, number>;
  startedAt: string;
  finishedAt: string;
  error?: string;
}

interface Delivered {
  source: SourceName;
  role: SourceRole;
  extractionId: string;
  batch: NormalizedBatch;
  outcome: SourceOutcome;
}

class DryRunRollback extends Error {
  constructor(readonly result: RunResult) {
    super('dry run');
  }
}

/**
 * One run, one batch, one transaction: lock → extract (primary, failover, references; every response to
 * bronze before parsing) → normalize and validate → load dimensions and facts → refresh views → record
 * the run. A crash anywhere rolls the whole run back; a run that fails (no source delivered) commits
 * its bronze rows and a failed pipeline_runs row.
 */
export async function runPipeline(db: Db, options: PipelineOptions): Promise<RunResult> {
  const clock = options.clock ?? (() => new Date());
  const runId = randomUUID();
  const log = options.log.child({ runId });
  const started = clock();
  const timer = stageTimer();
  try {
    return await db.transaction(async (tx) => {
      await acquireRunLock(tx, options.lockWaitMs);
      timer.lap('lock');
      await ensureUpcomingPartitions(tx, started);
      await markInterruptedRuns(tx);
      await startRun(tx, runId, options.kind, started);
      const result = await runInTransaction(tx, runId, started, options, clock, log, timer);
      await finishRun(tx, result);
      if (options.dryRun) throw new DryRunRollback(result);
      return result;
    });
  } catch (error) {
    if (error instanceof DryRunRollback) return error.result;
    if (error instanceof FxpipeError) throw error;
    // The transaction rolled back: record that the run failed, so status and alerts see it.
    const message = oneLine(error);
    log.warn({ err: message }, 'run failed; rolled back');
    await recordFailedRun(db, runId, options.kind, started, clock(), message).catch(() => undefined);
    throw new FxpipeError(`run ${runId} failed and was rolled back: ${message}`, { cause: error });
  }
}

async function runInTransaction(tx: Db, runId: string, started: Date, options: PipelineOptions, clock: () => Date, log: Logger, timer: StageTimer): Promise<RunResult> {
  const baseMethod: ExtractionMethod = options.kind === 'manual' ? 'manual' : 'scheduled';
  const outcomes: SourceOutcome[] = [];
  const delivered: Delivered[] = [];

  const extractOne = async (source: SourceName, role: SourceRole): Promise<Delivered | null> => {
    const method: ExtractionMethod = role === 'failover' ? 'failover' : baseMethod;
    const outcome: SourceOutcome = { source, role, status: 'failed', attempts: 0, extracted: 0, loaded: 0, unchanged: 0, rejected: 0 };
    outcomes.push(outcome);
    let extractionId: string | null = null;
    const onAttempt = async (attempt: FetchAttempt) => {
      outcome.attempts++;
      extractionId = await storeAttempt(tx, runId, method, attempt, clock());
    };
    let extraction: Extraction;
    try {
      extraction = await extractLatest(getSource(source), options.settingsFor(source), options.http, onAttempt, options.breakers);
    } catch (error) {
      outcome.error = oneLine(error);
      log.warn({ source, role, err: outcome.error }, 'source failed');
      return null;
    }
    const batch = normalize(extraction);
    outcome.extracted = extraction.quotes.length;
    outcome.rejected = batch.rejects.length;
    outcome.asOf = batch.asOf.toISOString();
    await storeRejects(tx, runId, source, extractionId, batch.rejects, clock());
    if (batch.rates.length === 0) {
      outcome.error = `${source}: no valid rates in the payload (${batch.rejects.length} rejected)`;
      log.warn({ source, role, err: outcome.error }, 'source failed');
      return null;
    }
    outcome.status = 'ok';
    return { source, role, extractionId: extractionId!, batch, outcome };
  };

  let used: Delivered | null = null;
  for (const [index, source] of options.sources.entries()) {
    used = await extractOne(source, index === 0 ? 'primary' : 'failover');
    if (used) break;
  }
  if (used) {
    delivered.push(used);
    if (options.verify) {
      for (const source of options.sources.filter((s) => !outcomes.some((o) => o.source === s))) {
        const reference = await extractOne(source, 'reference');
        if (reference) delivered.push(reference);
      }
    }
  }
  timer.lap('extract');

  const zscore: ZScoreFinding[] = [];
  const referenceDeviations: RunResult['flags']['referenceDeviations'] = [];
  const flags = new Map<string, string[]>();
  const flag = (quote: string, name: string) => flags.set(quote, [...new Set([...(flags.get(quote) ?? []), name])]);
  if (used) {
    const history = await recentHistory(tx, used.source, WAREHOUSE_BASE, used.batch.asOf);
    for (const finding of zScoreOutliers(used.batch.rates, history, options.zScoreThreshold)) {
      zscore.push(finding);
      flag(finding.quote, FLAG_ZSCORE);
    }
    for (const reference of delivered.filter((d) => d.role === 'reference')) {
      for (const deviation of compareWithReference(used.batch.rates, reference.batch.rates)) {
        if (Math.abs(deviation.deviationPct) > options.deviationTolerancePct) {
          referenceDeviations.push({ ...deviation, reference: reference.source });
          flag(deviation.quote, FLAG_REFERENCE_DEVIATION);
        }
      }
    }
  }
  timer.lap('normalize');

  let moves: PairMove[] = [];
  let usedUpdated = 0;
  let anyUpdated = false;
  const now = clock();
  for (const d of delivered) {
    const sourceId = await upsertSource(tx, d.source, tierOf(options.sources, d.source), options.settingsFor(d.source).baseUrl);
    const counts = await loadRates(tx, {
      runId,
      extractionId: d.extractionId,
      sourceId,
      base: WAREHOUSE_BASE,
      asOf: d.batch.asOf,
      rates: d.batch.rates,
      flags: d === used ? flags : new Map(),
      changeThresholdPct: options.changeThresholdPct,
      now,
    });
    d.outcome.loaded = counts.loaded;
    d.outcome.unchanged = counts.unchanged;
    anyUpdated ||= counts.updated > 0;
    if (d === used) {
      usedUpdated = counts.updated;
      moves = counts.moves;
    }
  }
  timer.lap('load');

  const viewRefreshMs = anyUpdated ? await refreshViews(tx) : {};
  timer.lap('refresh');

  const ok = outcomes.filter((o) => o.status === 'ok');
  const status: RunStatus = !used ? 'failed' : usedUpdated > 0 ? 'loaded' : 'unchanged';
  const failures = outcomes.filter((o) => o.status === 'failed' && o.role !== 'reference').map((o) => o.error);
  const finished = clock();
  return {
    runId,
    kind: options.kind,
    status,
    dryRun: options.dryRun,
    sourceUsed: used?.source ?? null,
    failover: used?.role === 'failover',
    asOf: used?.batch.asOf.toISOString() ?? null,
    counts: {
      extracted: sum(ok, 'extracted'),
      loaded: sum(ok, 'loaded'),
      unchanged: sum(ok, 'unchanged'),
      rejected: sum(outcomes, 'rejected'),
    },
    sources: outcomes,
    flags: { zscore, referenceDeviations },
    moves,
    stageMs: timer.result(),
    viewRefreshMs,
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    ...(used ? {} : { error: `no source delivered: ${failures.join('; ')}` }),
  };
}

/** A source's tier by its configured position: the first is primary, the second fallback, the rest reference. */
function tierOf(sources: SourceName[], source: SourceName): SourceTier {
  const index = sources.indexOf(source);
  return index === 0 ? 'primary' : index === 1 ? 'fallback' : 'reference';
}

function sum(outcomes: SourceOutcome[], key: keyof RunCounts): number {
  return outcomes.reduce((total, o) => total + o[key], 0);
}

interface StageTimer {
  lap(stage: keyof RunResult['stageMs']): void;
  result(): RunResult['stageMs'];
}

function stageTimer(): StageTimer {
  const start = performance.now();
  let last = start;
  const stages: RunResult['stageMs'] = { lock: 0, extract: 0, normalize: 0, load: 0, refresh: 0, total: 0 };
  const round = (ms: number) => Math.round(ms * 10) / 10;
  return {
    lap(stage) {
      const now = performance.now();
      stages[stage] = round(now - last);
      last = now;
    },
    result() {
      stages.total = round(performance.now() - start);
      return { ...stages };
    },
  };
}

