import type { RunResult } from '../jobs/pipeline.js';
import { WAREHOUSE_BASE } from '../transform/normalize.js';
import type { AlertKind, AlertPayload } from './kinds.js';
import { alertPayload } from './payload.js';
import { watchedPairMoves } from './watched-pairs.js';

export interface RunAlertRules {
  enabled: readonly AlertKind[];
  watchPairs: readonly string[];
  /** pair_moved when |change| exceeds this %. */
  movePct: number;
}

const SHOWN_IN_MESSAGE = 5;

/** What run_failed reports of a failed run: a run's result, or a run that never got as far as one (a missed slot). */
export type FailedRunFacts = Pick<RunResult, 'runId' | 'kind' | 'finishedAt' | 'error' | 'sources'>;

/** run_failed for a run that failed. */
export function runFailedAlert(run: FailedRunFacts): AlertPayload {
  return alertPayload('run_failed', {
    runId: run.runId,
    occurredAt: run.finishedAt,
    message: `fxpipe run ${run.runId} failed: ${run.error ?? 'no source delivered'}`,
    source: null,
    details: {
      runKind: run.kind,
      error: run.error ?? null,
      sources: run.sources.map((s) => ({ source: s.source, role: s.role, attempts: s.attempts, error: s.error ?? null })),
    },
  });
}

/** The alerts a finished run raises on its own: run_failed, failover, pair_moved, reference_deviation. */
export function runAlerts(result: RunResult, rules: RunAlertRules): AlertPayload[] {
  const on = (kind: AlertKind) => rules.enabled.includes(kind);
  const common = { runId: result.runId, occurredAt: result.finishedAt };
  const alerts: AlertPayload[] = [];

  if (on('run_failed') && result.status === 'failed') alerts.push(runFailedAlert(result));

  const primary = result.sources.find((s) => s.role === 'primary');
  if (on('failover') && result.failover && result.sourceUsed) {
    alerts.push(
      alertPayload('failover', {
        ...common,
        message: `fxpipe failed over to ${result.sourceUsed}: the primary ${primary?.source ?? '?'} failed (${primary?.error ?? 'no detail'})`,
        source: result.sourceUsed,
        details: {
          primary: primary?.source ?? null,
          primaryError: primary?.error ?? null,
          sourceUsed: result.sourceUsed,
          asOf: result.asOf,
        },
      }),
    );
  }

  const moved = watchedPairMoves(result.moves, rules.watchPairs, WAREHOUSE_BASE).filter((m) => Math.abs(m.changePct) > rules.movePct);
  if (on('pair_moved') && moved.length > 0) {
    const list = moved.map((m) => `${m.pair} ${signed(m.changePct)}%`).join(', ');
    alerts.push(
      alertPayload('pair_moved', {
        ...common,
        message: `fxpipe: ${list} on ${result.sourceUsed} (alert beyond ${rules.movePct}%)`,
        source: result.sourceUsed,
        details: { thresholdPct: rules.movePct, asOf: result.asOf, pairs: moved },
      }),
    );
  }

  const deviations = result.flags.referenceDeviations;
  if (on('reference_deviation') && deviations.length > 0) {
    const shown = deviations
      .slice(0, SHOWN_IN_MESSAGE)
      .map((d) => `${WAREHOUSE_BASE}/${d.quote} ${signed(d.deviationPct)}% vs ${d.reference}`);
    const more = deviations.length > SHOWN_IN_MESSAGE ? ` and ${deviations.length - SHOWN_IN_MESSAGE} more` : '';
    alerts.push(
      alertPayload('reference_deviation', {
        ...common,
        message: `fxpipe: ${result.sourceUsed} deviates from a reference source: ${shown.join(', ')}${more}`,
        source: result.sourceUsed,
        details: {
          asOf: result.asOf,
          deviations: deviations.map((d) => ({
            pair: `${WAREHOUSE_BASE}/${d.quote}`,
            rate: d.primary,
            reference: d.reference,
            deviationPct: d.deviationPct,
          })),
        },
      }),
    );
  }
  return alerts;
}

function signed(pct: number): string {
  return `${pct > 0 ? '+' : ''}${Math.round(pct * 100) / 100}`;
}
