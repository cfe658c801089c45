import { NOT_OK_SHOWN, type ProductionCheck } from '../verify/check.js';
import type { AlertPayload } from './kinds.js';
import { alertPayload } from './payload.js';

/** production_deviation when a check has rows that deviate or have no rate in force; null when all are ok. */
export function productionDeviationAlert(check: ProductionCheck): AlertPayload | null {
  // The rows an alert carries at most are the summary's: a webhook body stays small when a whole file deviates.
  const { deviates, no_rate: noRate } = check.counts;
  if (deviates + noRate === 0) return null;
  const label = check.label ?? 'production';
  const parts = [
    deviates > 0 ? `${deviates} ${deviates === 1 ? 'deviates' : 'deviate'} by more than ${check.tolerancePct} % from the consensus` : null,
    noRate > 0 ? `${noRate} ${noRate === 1 ? 'has' : 'have'} no rate in force` : null,
  ];
  return alertPayload('production_deviation', {
    message: `fxpipe: production check ${label}: of ${check.total} rates, ${parts.filter(Boolean).join(' and ')}`,
    runId: null,
    occurredAt: check.checkedAt,
    source: null,
    details: {
      label: check.label,
      checkId: check.checkId,
      tolerancePct: check.tolerancePct,
      rows: check.total,
      ok: check.counts.ok,
      deviates,
      noRate,
      notOk: check.notOk.slice(0, NOT_OK_SHOWN).map((row) => ({
        line: row.line,
        base: row.base,
        quote: row.quote,
        rate: row.rate,
        at: row.at,
        consensusRate: row.consensusRate,
        deviationPct: row.deviationPct,
        verdict: row.verdict,
        sources: row.sources,
      })),
      notOkOmitted: Math.max(0, deviates + noRate - NOT_OK_SHOWN),
    },
  });
}
