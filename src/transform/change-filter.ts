import { RateDecimal } from './decimal.js';

/**
 * Why an observation was, or was not, added to the history:
 * - initial: the pair's first value for the source;
 * - moved: it differs from the last stored value by more than the change threshold (by default 0: any difference);
 * - unchanged: it equals the last stored value (an exact repeat: a daily source polled every 4 hours);
 * - below_threshold: it differs, but by no more than an opted-in threshold.
 */
export type ChangeReason = 'initial' | 'moved' | 'below_threshold' | 'unchanged';

export interface ChangeDecision {
  reason: ChangeReason;
  /** Whether the history stores the observation. */
  kept: boolean;
  /** The move from the last stored value, in %; null for a pair's first value. */
  changePct: RateDecimal | null;
}

/** (to − from) / from × 100, exactly. */
export function percentChange(from: RateDecimal, to: RateDecimal): RateDecimal {
  return to.minus(from).div(from).times(100);
}

/**
 * The one change rule, used by run, reprocess and backfill: the history stores a value that differs from
 * the pair's last stored one by more than thresholdPct (0, the default: by anything at all); exact repeats
 * are never stored again. The current rate moves forward either way.
 */
export function decideChange(lastStored: string | null, rate: string, thresholdPct: RateDecimal): ChangeDecision {
  if (lastStored === null) return { reason: 'initial', kept: true, changePct: null };
  const changePct = percentChange(new RateDecimal(lastStored), new RateDecimal(rate));
  if (changePct.isZero()) return { reason: 'unchanged', kept: false, changePct };
  if (!changePct.abs().gt(thresholdPct)) return { reason: 'below_threshold', kept: false, changePct };
  return { reason: 'moved', kept: true, changePct };
}

/** What a kept observation stores beside its rate: the pair's previous kept rate and the move from it, in %. */
export interface KeptObservation {
  previous: string | null;
  changePct: string | null;
}

/** The change rule applied to observations fed in date order (a backfill), starting from the pairs' last stored values. */
export class ChangeFilter<Pair> {
  readonly #threshold: RateDecimal;
  readonly #lastKept: Map<Pair, string>;

  constructor(thresholdPct: number, lastStored: ReadonlyMap<Pair, string>) {
    this.#threshold = new RateDecimal(thresholdPct);
    this.#lastKept = new Map(lastStored);
  }

  /** The observation's previous rate and move when it is kept; null when the rule skips it. */
  observe(pair: Pair, rate: string): KeptObservation | null {
    const previous = this.#lastKept.get(pair) ?? null;
    const decision = decideChange(previous, rate, this.#threshold);
    if (!decision.kept) return null;
    this.#lastKept.set(pair, rate);
    return { previous, changePct: decision.changePct?.toFixed(8) ?? null };
  }
}
