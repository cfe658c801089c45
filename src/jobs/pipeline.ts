import type { Logger } from '../log.js';
export { RunFailedError } from './run-trace.js';
import { oneLine } from '../errors.js';
import { DatabaseFailure, traceRun, type RunTrace } from './run-trace.js';
import { SourceBreakers } from '../sources/breaker.js';
import { extractLatest } from '../sources/extract.js';
import type { HttpPolicy } from '../sources/http.js';
import { getSource } from '../sources/registry.js';
import type { Extraction, FetchAttempt, SourceName, SourceSettings } from '../sources/types.js';
import { normalize, WAREHOUSE_BASE, type NormalizedBatch } from '../transform/normalize.js';
import {
  compareWithReference,
  FLAG_REFERENCE_DEVIATION,
  FLAG_ZSCORE,
  zScoreOutliers,
  type Deviation,
  type ZScoreFinding,
} from '../transform/soft-checks.js';
import { storeAttempt, type ExtractionMethod } from '../warehouse/bronze.js';
import type { Db, SessionDb } from '../warehouse/db.js';
import { upsertSource, type SourceRank } from '../warehouse/dimensions.js';
import { loadRates, type LoadCounts, type PairMove } from '../warehouse/loader.js';
import { ensureUpcomingPartitions } from '../warehouse/partitions.js';
import { recentHistory } from '../warehouse/recent-history.js';
import { storeRejects } from '../warehouse/rejected.js';
import { finishRun, type FailedRun, type RunKind, type RunStatus } from '../warehouse/runs.js';
import { checkAsOf } from '../transform/as-of.js';
import { maintainReadModels } from '../warehouse/read-models.js';
import type { TouchedDays } from '../warehouse/publications.js';
import { inSqlStateClass, SqlStateClass } from '../warehouse/sqlstate.js';

export interface PipelineOptions {
  kind: RunKind;
  /** In order: the first is the primary; the next are fallbacks; the rest (and unused ones) verify. */
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
  /** How far past the time it was received a payload's as-of may lie (clock skew); default 10 minutes. */
  asOfSkewMs?: number;
  log: Logger;
}

/** A source's role in one run, in rank's words: a fallback is tried after the primary failed; one serving the run is a failover. */
export type SourceRole = 'primary' | 'fallback' | 'reference';

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

/**
 * The result of a run that could not finish (the database failed it, or kept a scheduled slot from running), as its
 * row records it: what `run --json` prints and run_failed reports. sources[] is empty: what the sources did went with
 * the run's transaction.
 */
export function failedRunResult(run: FailedRun, dryRun = false): RunResult {
  return {
    runId: run.runId,
    kind: run.kind,
    status: 'failed',
    dryRun,
    sourceUsed: null,
    failover: false,
    asOf: null,
    counts: run.counts ?? { extracted: 0, loaded: 0, unchanged: 0, rejected: 0 },
    sources: [],
    flags: { zscore: [], referenceDeviations: [] },
    moves: [],
    stageMs: { lock: 0, extract: 0, normalize: 0, load: 0, refresh: 0, total: 0, ...run.stageMs },
    viewRefreshMs: {},
    startedAt: run.startedAt.toISOString(),
    finishedAt: run.finishedAt.toISOString(),
    error: run.error,
  };
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

/** A source whose values the warehouse would not take (a data or constraint error): that source's failure. */
class SourceLoadFailure extends Error {
  constructor(
    readonly delivered: Delivered,
    readonly error: unknown,
  ) {
    super(oneLine(error), { cause: error });
  }
}

/**
 * One run, dlt-style explicit steps: lock → extract (each response to bronze, committed on its own before
 * anything parses it) → normalize and validate → load (one transaction) → refresh views → record the run.
 * Every failure of a source (network, format, normalisation, a value the warehouse cannot hold) is that
 * source's failure and the next source serves; only a database failure fails the run, with the database's
 * own message. The run lock is held for the whole run on a connection of its own.
 */
export async function runPipeline(db: SessionDb, options: PipelineOptions): Promise<RunResult> {
  const trace = {
    kind: options.kind,
    noun: 'run',
    lockWaitMs: options.lockWaitMs,
    log: options.log,
    record: !options.dryRun,
    ...(options.clock ? { clock: options.clock } : {}),
  };
  return traceRun(db, trace, async (run) => {
    if (!options.dryRun) return runSteps(db, run, options);
    // A dry run does everything in one transaction and rolls it back, bronze and the run's row included: nothing is stored.
    try {
      return await db.transaction(async (tx) => {
        throw new DryRunRollback(await runSteps(tx, run, options));
      });
    } catch (error) {
      if (error instanceof DryRunRollback) return error.result;
      throw error;
    }
  });
}

async function runSteps(db: Db, run: RunTrace, options: PipelineOptions): Promise<RunResult> {
  const { runId, startedAt: started, clock, log } = run;
  await run.start(db);
  await ensureUpcomingPartitions(db, started);
  const baseMethod: ExtractionMethod = options.kind === 'manual' ? 'manual' : 'scheduled';
  const outcomes: SourceOutcome[] = [];
  const delivered: Delivered[] = [];
  // A one-off run starts with every circuit closed; a long-running process passes the set it keeps across runs.
  const breakers = options.breakers ?? new SourceBreakers();

  const extractOne = async (source: SourceName, role: SourceRole): Promise<Delivered | null> => {
    // Bronze's stored word for a fallback's extraction stays 'failover'.
    const method: ExtractionMethod = role === 'fallback' ? 'failover' : baseMethod;
    const outcome: SourceOutcome = { source, role, status: 'failed', attempts: 0, extracted: 0, loaded: 0, unchanged: 0, rejected: 0 };
    outcomes.push(outcome);
    let extractionId: string | null = null;
    let receivedAt = clock();
    // Set by onAttempt: declared wider than its initial null, which TypeScript would otherwise narrow it to below.
    let storeFailure = null as DatabaseFailure | null;
    // Each attempt is committed to bronze on its own, before parsing: kept whatever happens next.
    const onAttempt = async (attempt: FetchAttempt) => {
      outcome.attempts++;
      receivedAt = clock();
      try {
        extractionId = await storeAttempt(db, runId, method, attempt, receivedAt);
      } catch (error) {
        throw (storeFailure = new DatabaseFailure(error));
      }
    };
    const failed = (error: unknown) => {
      failSource(outcome, oneLine(error), log);
      return null;
    };
    let batch: NormalizedBatch;
    let extraction: Extraction;
    try {
      extraction = await extractLatest(getSource(source), options.settingsFor(source), options.http, onAttempt, breakers);
      checkAsOf(source, extraction.asOf, receivedAt, options.asOfSkewMs);
      batch = normalize(extraction);
    } catch (error) {
      if (storeFailure) throw storeFailure;
      return failed(error);
    }
    outcome.extracted = extraction.quotes.length;
    outcome.rejected = batch.rejects.length;
    outcome.asOf = batch.asOf.toISOString();
    await storeRejects(db, runId, source, extractionId, batch.rejects, clock()).catch((error: unknown) => {
      throw new DatabaseFailure(error);
    });
    if (batch.rates.length === 0) return failed(`${source}: no valid rates in the payload (${batch.rejects.length} rejected)`);
    outcome.status = 'ok';
    return { source, role, extractionId: extractionId!, batch, outcome };
  };

  // Sources in order until one delivers; then, when verifying, every other source as a reference.
  let next = 0;
  const extractUntilOneDelivers = async (): Promise<boolean> => {
    while (next < options.sources.length) {
      const source = options.sources[next]!;
      const d = await extractOne(source, next++ === 0 ? 'primary' : 'fallback');
      if (d) {
        delivered.push(d);
        return true;
      }
    }
    return false;
  };
  await extractUntilOneDelivers();
  if (options.verify && delivered.length > 0) {
    for (; next < options.sources.length; next++) {
      const reference = await extractOne(options.sources[next]!, 'reference');
      if (reference) delivered.push(reference);
    }
  }
  run.lap('extract');

  for (;;) {
    const used = delivered.find((d) => d.outcome.status === 'ok') ?? null;
    if (!used && next < options.sources.length && (await extractUntilOneDelivers())) continue;
    try {
      return await db.transaction((tx) => loadAndRecord(tx, run, used, delivered, outcomes, options));
    } catch (error) {
      if (!(error instanceof SourceLoadFailure)) throw error instanceof DatabaseFailure ? error : new DatabaseFailure(error);
      // The source used could not be loaded: the whole load rolled back; the next source serves.
      failSource(error.delivered.outcome, refusedValues(error.delivered.source, error.error), log);
      const successor = delivered.find((d) => d.outcome.status === 'ok');
      if (successor?.role === 'reference') successor.role = successor.outcome.role = 'fallback';
    }
  }
}

async function loadAndRecord(
  tx: Db,
  run: RunTrace,
  used: Delivered | null,
  delivered: Delivered[],
  outcomes: SourceOutcome[],
  options: PipelineOptions,
): Promise<RunResult> {
  const { runId, startedAt: started, clock, log } = run;
  const zscore: ZScoreFinding[] = [];
  const referenceDeviations: RunResult['flags']['referenceDeviations'] = [];
  const flags = new Map<string, string[]>();
  const flag = (quote: string, name: string) => flags.set(quote, [...new Set([...(flags.get(quote) ?? []), name])]);
  const references = delivered.filter((d) => d !== used && d.outcome.status === 'ok');
  if (used) {
    const history = await recentHistory(tx, used.source, WAREHOUSE_BASE, used.batch.asOf);
    for (const finding of zScoreOutliers(used.batch.rates, history, options.zScoreThreshold)) {
      zscore.push(finding);
      flag(finding.quote, FLAG_ZSCORE);
    }
    for (const reference of references) {
      for (const deviation of compareWithReference(used.batch.rates, reference.batch.rates)) {
        if (Math.abs(deviation.deviationPct) > options.deviationTolerancePct) {
          referenceDeviations.push({ ...deviation, reference: reference.source });
          flag(deviation.quote, FLAG_REFERENCE_DEVIATION);
        }
      }
    }
  }
  run.lap('normalize');

  let moves: PairMove[] = [];
  let usedUpdated = 0;
  const touched: (TouchedDays | null)[] = [];
  const sourceNames = new Map<number, string>();
  const now = clock();
  for (const d of used ? [used, ...references] : []) {
    let counts: LoadCounts;
    try {
      counts = await inSavepoint(tx, async () => {
        const sourceId = await upsertSource(tx, d.source, rankOf(options.sources, d.source), options.settingsFor(d.source).baseUrl);
        sourceNames.set(sourceId, d.source);
        return loadRates(tx, {
          runId,
          extractionId: d.extractionId,
          sourceId,
          base: WAREHOUSE_BASE,
          asOf: d.batch.asOf,
          rates: d.batch.rates,
          flags: d === used ? flags : new Map<string, string[]>(),
          changeThresholdPct: options.changeThresholdPct,
          now,
        });
      });
    } catch (error) {
      if (!isDataError(error)) throw error;
      if (d === used) throw new SourceLoadFailure(d, error);
      // A reference the warehouse refuses is a finding about that reference, never the run's failure.
      failSource(d.outcome, refusedValues(d.source, error), log);
      continue;
    }
    d.outcome.loaded = counts.loaded;
    d.outcome.unchanged = counts.unchanged;
    touched.push(counts.touched);
    if (d === used) {
      usedUpdated = counts.updated;
      moves = counts.moves;
    }
  }
  run.lap('load');

  const viewRefreshMs = await maintainReadModels(tx, touched, sourceNames);
  run.lap('refresh');

  const ok = outcomes.filter((o) => o.status === 'ok');
  const status: RunStatus = !used ? 'failed' : usedUpdated > 0 ? 'loaded' : 'unchanged';
  const failures = outcomes.filter((o) => o.status === 'failed' && o.role !== 'reference').map((o) => o.error);
  const result: RunResult = {
    runId,
    kind: options.kind,
    status,
    dryRun: options.dryRun,
    sourceUsed: used?.source ?? null,
    failover: used?.role === 'fallback',
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
    stageMs: run.stageMs(),
    viewRefreshMs,
    startedAt: started.toISOString(),
    finishedAt: clock().toISOString(),
    ...(used ? {} : { error: `no source delivered: ${failures.join('; ')}` }),
  };
  await finishRun(tx, result);
  return result;
}

function failSource(outcome: SourceOutcome, error: string, log: Logger): void {
  outcome.status = 'failed';
  outcome.error = error;
  log.warn({ source: outcome.source, role: outcome.role, err: error }, 'source failed');
}

const refusedValues = (source: SourceName, error: unknown) => `${source}: the warehouse refused its values: ${oneLine(error)}`;

/** A data exception or an integrity constraint violation: the values, not the database. */
function isDataError(error: unknown): boolean {
  return inSqlStateClass(error, SqlStateClass.data_exception, SqlStateClass.integrity_constraint_violation);
}

async function inSavepoint<T>(tx: Db, fn: () => Promise<T>): Promise<T> {
  await tx.query('savepoint fxpipe_source');
  try {
    const result = await fn();
    await tx.query('release savepoint fxpipe_source');
    return result;
  } catch (error) {
    if (isDataError(error)) await tx.query('rollback to savepoint fxpipe_source');
    throw error;
  }
}

/** A source's rank by its configured position: the first is primary, the second fallback, the rest reference. */
function rankOf(sources: SourceName[], source: SourceName): SourceRank {
  const index = sources.indexOf(source);
  return index === 0 ? 'primary' : index === 1 ? 'fallback' : 'reference';
}

function sum(outcomes: SourceOutcome[], key: keyof RunCounts): number {
  return outcomes.reduce((total, o) => total + o[key], 0);
}
