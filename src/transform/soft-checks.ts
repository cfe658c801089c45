import { RateDecimal } from './decimal.js';
import type { Rate } from './normalize.js';

export const FLAG_ZSCORE = 'zscore';
export const FLAG_REFERENCE_DEVIATION = 'reference_deviation';

/** Fewer stored moves than this and a pair has no history to judge against. */
const MIN_RETURNS = 10;

export interface ZScoreFinding {
  quote: string;
  z: number;
}

/**
 * Flags rates whose move from the last stored rate is an outlier against the pair's recent moves:
 * z = (ln(new/last) − mean of log returns) / their standard deviation, flagged when |z| > threshold.
 * history holds each pair's recent stored rates, oldest first.
 */
export function zScoreOutliers(rates: Rate[], history: Map<string, string[]>, threshold: number): ZScoreFinding[] {
  const findings: ZScoreFinding[] = [];
  for (const rate of rates) {
    const series = (history.get(rate.quote) ?? []).map(Number);
    if (series.length < MIN_RETURNS + 1) continue;
    const returns = series.slice(1).map((value, i) => Math.log(value / series[i]!));
    const mean = returns.reduce((a, b) => a + b, 0) / returns.length;
    const sd = Math.sqrt(returns.reduce((a, b) => a + (b - mean) ** 2, 0) / (returns.length - 1));
    const move = Math.log(Number(rate.value) / series[series.length - 1]!);
    if (move === 0) continue;
    // A history that never varied: a move equal to its moves is no surprise, any other is infinitely surprising, in its direction.
    const z = sd === 0 ? (move === mean ? 0 : Math.sign(move - mean) * Infinity) : (move - mean) / sd;
    if (Math.abs(z) > threshold) findings.push({ quote: rate.quote, z: Math.round(z * 100) / 100 });
  }
  return findings;
}

export interface Deviation {
  quote: string;
  primary: string;
  reference: string;
  deviationPct: number;
}

/** The primary's rates against a reference source's, for the quotes both publish: (primary − ref) / ref × 100. */
export function compareWithReference(primary: Rate[], reference: Rate[]): Deviation[] {
  const refs = new Map(reference.map((r) => [r.quote, r.value]));
  const out: Deviation[] = [];
  for (const rate of primary) {
    const ref = refs.get(rate.quote);
    if (ref === undefined) continue;
    const pct = new RateDecimal(rate.value).minus(ref).div(ref).times(100);
    out.push({ quote: rate.quote, primary: rate.value, reference: ref, deviationPct: pct.toDecimalPlaces(6).toNumber() });
  }
  return out;
}
