import { MAX_INTEGER_DIGITS, RateDecimal } from './decimal.js';

/**
 * Why an observation was, or was not, added to the history:
 * - initial: the pair's first value for the source;
 * - resumed: the first value after a stretch the rate was not in force (the source's publication before left the
 *   pair out, or was older than the maximum rate age): stored whatever it is, so every stretch in force starts with
 *   a history row;
 * - moved: it differs from the last stored value by more than the change threshold (by default 0: any difference);
 * - unchanged: it equals the last stored value (an exact repeat: a daily source polled every 4 hours);
 * - below_threshold: it differs, but by no more than an opted-in threshold.
 */
export type ChangeReason = 'initial' | 'resumed' | 'moved' | 'below_threshold' | 'unchanged';

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

/** The decimals change_pct is stored with. */
const CHANGE_PCT_DECIMALS = 8;

/** |change_pct| × 10^8 must stay below this: 10^14 %, as DECIMAL(38,24)'s 14 integer digits allow. */
const CHANGE_PCT_UNITS_LIMIT = 10n ** BigInt(MAX_INTEGER_DIGITS + CHANGE_PCT_DECIMALS);

/** A positive decimal's text (plain, or with an exponent) as coef × 10^-scale, exactly. */
function scaled(text: string): { coef: bigint; scale: number } {
  const m = /^(\d+)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text.trim());
  if (!m) throw new Error(`not a rate: ${text}`);
  const [, int, frac = '', exp = '0'] = m;
  const scale = frac.length - Number(exp);
  const coef = BigInt(`${int}${frac}`);
  return scale >= 0 ? { coef, scale } : { coef: coef * 10n ** BigInt(-scale), scale: 0 };
}

/**
 * change_pct as fxpipe stores it: the move from one rate to the next in %, (to − from) / from × 100, from the exact
 * quotient rounded to 8 decimals, ties away from zero (as PostgreSQL's round); null when that is 1e14 % or more, a
 * value every tier could not hold (the archive's DECIMAL(38,24) has 14 integer digits): a rate that grew over a
 * trillion-fold, which only a provider's error publishes, and rate and previous_rate still give it. The same rule as
 * the SQL function fx_change_pct (migration 0021), which the writers in SQL use; a CHECK constraint holds both tables to it.
 */
export function storedChangePct(from: string, to: string): string | null {
  const a = scaled(from);
  const b = scaled(to);
  const scale = Math.max(a.scale, b.scale);
  const previous = a.coef * 10n ** BigInt(scale - a.scale);
  const move = b.coef * 10n ** BigInt(scale - b.scale) - previous;
  if (previous <= 0n) throw new Error(`not a positive rate: ${from}`);
  // round(|move| × 10^10 / previous) = floor((2 × |move| × 10^10 + previous) / (2 × previous)), in integers.
  const units = (2n * (move < 0n ? -move : move) * 10n ** 10n + previous) / (2n * previous);
  if (units >= CHANGE_PCT_UNITS_LIMIT) return null;
  const digits = units.toString().padStart(CHANGE_PCT_DECIMALS + 1, '0');
  return `${move < 0n && units > 0n ? '-' : ''}${digits.slice(0, -CHANGE_PCT_DECIMALS)}.${digits.slice(-CHANGE_PCT_DECIMALS)}`;
}

/**
 * The one change rule, used by run, reprocess and backfill: the history stores a value that differs from
 * the pair's last stored one by more than thresholdPct (0, the default: by anything at all); exact repeats
 * are never stored again. The current rate moves forward either way.
 */
export function decideChange(lastStored: string | null, rate: string, thresholdPct: RateDecimal, resumed = false): ChangeDecision {
  if (lastStored === null) return { reason: 'initial', kept: true, changePct: null };
  const changePct = percentChange(new RateDecimal(lastStored), new RateDecimal(rate));
  if (resumed) return { reason: 'resumed', kept: true, changePct };
  if (changePct.isZero()) return { reason: 'unchanged', kept: false, changePct };
  if (!changePct.abs().gt(thresholdPct)) return { reason: 'below_threshold', kept: false, changePct };
  return { reason: 'moved', kept: true, changePct };
}

/** What a kept observation stores beside its rate: the pair's previous kept rate and the move from it, in %. */
export interface KeptObservation {
  previous: string | null;
  changePct: string | null;
}

/**
 * Whether a pair starts a stretch in force at a publication (the one before did not carry it, or was no longer in
 * force at it): the warehouse's rule decides it (fx_resumed_pairs, migration 0023), never this code.
 */
export type Resumed<Pair> = (pair: Pair, asOf: Date) => boolean;

/**
 * The change rule applied to publications fed in date order (a run's one, a backfill chunk's many), starting from the
 * pairs' last stored values.
 */
export class ChangeFilter<Pair> {
  readonly #threshold: RateDecimal;
  readonly #lastKept: Map<Pair, string>;
  readonly #resumed: Resumed<Pair>;
  #asOf: Date | null = null;

  constructor(thresholdPct: number, lastStored: ReadonlyMap<Pair, string>, resumed: Resumed<Pair> = () => false) {
    this.#threshold = new RateDecimal(thresholdPct);
    this.#lastKept = new Map(lastStored);
    this.#resumed = resumed;
  }

  /** Starts the next publication; the decide calls that follow are its values. */
  publication(asOf: Date): void {
    this.#asOf = asOf;
  }

  /** The change rule's decision on the observation, and the pair's last kept value it was made against (a kept value replaces it). */
  decide(pair: Pair, rate: string): { decision: ChangeDecision; previous: string | null } {
    const previous = this.#lastKept.get(pair) ?? null;
    const decision = decideChange(previous, rate, this.#threshold, this.#asOf !== null && this.#resumed(pair, this.#asOf));
    if (decision.kept) this.#lastKept.set(pair, rate);
    return { decision, previous };
  }

  /** The observation's previous rate and move when it is kept; null when the rule skips it. */
  observe(pair: Pair, rate: string): KeptObservation | null {
    const { decision, previous } = this.decide(pair, rate);
    if (!decision.kept) return null;
    return { previous, changePct: previous === null ? null : storedChangePct(previous, rate) };
  }
}
