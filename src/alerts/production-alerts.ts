import type { ProductionCheck } from '../verify/check.js';
import type { AlertPayload } from './kinds.js';
import { alertPayload } from './payload.js';

/** The rows an alert carries at most: a webhook body stays small when a whole file deviates. */
const MAX_ROWS = 100;

/** production_deviation when a check has rows that deviate or have no rate in force; null when all are ok. */
export function productionDeviationAlert(check: ProductionCheck): AlertPayload | null {
  const notOk = check.rows.filter((row) => row.verdict !== 'ok');
  if (notOk.length === 0) return null;
  const { deviates, no_rate: noRate } = check.counts;
  const label = check.label ?? 'production';
  const parts = [
    deviates > 0 ? `${deviates} ${deviates === 1 ? 'deviates' : 'deviate'} by more than ${check.tolerancePct} % from the consensus` : null,
    noRate > 0 ? `${noRate} ${noRate === 1 ? 'has' : 'have'} no rate in force` : null,
  ];
  return alertPayload('production_deviation', {
    message: `fxpipe: production check ${label}: of ${check.rows.length} rates, ${parts.filter(Boolean).join(' and ')}`,
    runId: null,
    occurredAt: check.checkedAt,
    source: null,
    details: {
      label: check.label,
      checkId: check.checkId,
      tolerancePct: check.tolerancePct,
      rows: check.rows.length,
      ok: check.counts.ok,
      deviates,
      noRate,
      notOk: notOk.slice(0, MAX_ROWS).map((row) => ({
        line: row.line, base: row.base, quote: row.quote, rate: row.rate, at: row.at,
        consensusRate: row.consensusRate, deviationPct: row.deviationPct, verdict: row.verdict, sources: row.sources,
      })),
      notOkOmitted: Math.max(0, notOk.length - MAX_ROWS),
    },
  });
}
