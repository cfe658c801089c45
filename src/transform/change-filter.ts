import { RateDecimal } from './decimal.js';

/** What a kept observation stores beside its rate: the pair's previous kept rate and the move from it, in %. */
export interface KeptObservation {
  previous: string | null;
  changePct: string | null;
}

/**
 * The history's change threshold applied to observations fed in date order, as runs apply it: an
 * observation is kept when it is the pair's first, when the threshold is 0, or when it moved more than
 * the threshold from the pair's last kept rate. The last kept rates start as the last stored ones.
 */
export class ChangeFilter<Pair> {
  readonly #thresholdPct: number;
  readonly #threshold: RateDecimal;
  readonly #lastKept: Map<Pair, string>;

  constructor(thresholdPct: number, lastStored: ReadonlyMap<Pair, string>) {
    this.#thresholdPct = thresholdPct;
    this.#threshold = new RateDecimal(thresholdPct);
    this.#lastKept = new Map(lastStored);
  }

  /** The observation's previous rate and move when it is kept; null when it stays within the threshold. */
  observe(pair: Pair, rate: string): KeptObservation | null {
    const previous = this.#lastKept.get(pair) ?? null;
    if (previous === null) {
      this.#lastKept.set(pair, rate);
      return { previous: null, changePct: null };
    }
    const from = new RateDecimal(previous);
    const change = new RateDecimal(rate).minus(from).div(from).times(100);
    if (this.#thresholdPct !== 0 && !change.abs().gt(this.#threshold)) return null;
    this.#lastKept.set(pair, rate);
    return { previous, changePct: change.toFixed(8) };
  }
}
