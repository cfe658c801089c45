import { Decimal } from 'decimal.js';
import { RateDecimal, DERIVED_SIGNIFICANT_DIGITS, rebasedRateText } from './decimal.js';

/**
 * The values a source published in its own base (the ECB: EUR→code), recovered from the USD rates normalize() stored
 * for them (USD→code = (EUR→code) / (EUR→USD), rounded to 15 significant digits by rebasedRateText).
 *
 * Each published value is the shortest decimal that the rebasing rule turns into the stored value. It is found
 * exactly: a published value has far fewer digits than the 15 the rebasing keeps (the ECB publishes 4 to 7), so
 * rounding the stored value's inverse image to the published value's own number of significant digits gives back the
 * published value, and no shorter decimal maps to the same stored text. A value that no decimal of up to 15 digits
 * reproduces (one loaded by something else than normalize()) is undefined: its caller computes it instead.
 *
 * Values are recovered when first asked for (about 15 µs each), so a long range asked for two currencies costs two.
 */
export class PublishedValues {
  readonly #found = new Map<string, string | undefined>();
  #baseToUsd: Decimal | null | undefined;

  /** usd: USD→code as stored (the base included); base: the base the source publishes in. */
  constructor(
    private readonly usd: ReadonlyMap<string, string>,
    readonly base: string,
  ) {}

  /** base→code as the source published it; the base itself 1. */
  get(code: string): string | undefined {
    if (code === this.base) return '1';
    if (this.base === 'USD') return this.usd.get(code);
    if (!this.#found.has(code)) this.#found.set(code, this.#recover(code)?.toFixed());
    return this.#found.get(code);
  }

  /** Every code recovered (the base included), for checks. */
  all(): Map<string, string> {
    return new Map(
      [...new Set([this.base, ...this.usd.keys()])].flatMap((code) => {
        const value = this.get(code);
        return value === undefined ? [] : [[code, value] as [string, string]];
      }),
    );
  }

  #recover(code: string): Decimal | null {
    const baseToUsd = this.#usdRate();
    const stored = this.usd.get(code);
    if (baseToUsd === null || stored === undefined) return null;
    if (code === 'USD') return baseToUsd;
    return shortest(new RateDecimal(stored).times(baseToUsd), (x) => rebasedRateText(x, baseToUsd), stored);
  }

  /** base→USD: the shortest b with 1 / b stored as USD→base. */
  #usdRate(): Decimal | null {
    if (this.#baseToUsd === undefined) {
      const usdToBase = this.usd.get(this.base);
      this.#baseToUsd =
        usdToBase === undefined ? null : shortest(new RateDecimal(1).div(usdToBase), (b) => rebasedRateText(1, b), usdToBase);
    }
    return this.#baseToUsd;
  }
}

/**
 * The decimal of fewest significant digits near `estimate` that `rebase` turns into `stored`. A decimal of up to 12
 * digits that does is `estimate` rounded to 12 digits (they are within 1e-14 of each other, far inside half a 12th
 * digit), and no shorter one can (it would be a 12th digit away, which 15 stored digits tell apart): one try for every
 * value a provider publishes; 13 to 15 digits are tried one by one.
 */
function shortest(estimate: Decimal, rebase: (candidate: Decimal) => string, stored: string): Decimal | null {
  const target = new RateDecimal(stored);
  for (const digits of [
    SHORT_DIGITS,
    ...Array.from({ length: DERIVED_SIGNIFICANT_DIGITS - SHORT_DIGITS }, (_, i) => SHORT_DIGITS + 1 + i),
  ]) {
    const candidate = estimate.toSignificantDigits(digits, Decimal.ROUND_HALF_UP);
    if (!candidate.isZero() && new RateDecimal(rebase(candidate)).eq(target)) return candidate;
  }
  return null;
}

const SHORT_DIGITS = 12;
