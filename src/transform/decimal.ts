import { Decimal } from 'decimal.js';

/** Decimal arithmetic for rates: 34 significant digits inside, so derived rates carry no float error. */
export const RateDecimal = Decimal.clone({ precision: 34, rounding: Decimal.ROUND_HALF_EVEN, toExpNeg: -30, toExpPos: 30 });
export type RateDecimal = InstanceType<typeof RateDecimal>;

/** Digits kept for rates fxpipe computes (rebased, cross): well past the 10 a provider's own rounding allows. */
export const DERIVED_SIGNIFICANT_DIGITS = 15;

/** A computed rate rounded to DERIVED_SIGNIFICANT_DIGITS, as text. */
export function derivedRateText(value: RateDecimal): string {
  return value.toSignificantDigits(DERIVED_SIGNIFICANT_DIGITS).toFixed();
}

/**
 * USD→quote from a payload in another base: (base→quote) / (base→USD), as stored (USD→base itself: 1 / (base→USD)).
 * The one rebasing rule: normalize() stores with it, and recovering a source's published digits (published-digits.ts)
 * inverts it.
 */
export function rebasedRateText(baseToQuote: Decimal.Value, baseToUsd: Decimal.Value): string {
  return derivedRateText(new RateDecimal(baseToQuote).div(baseToUsd));
}

/**
 * The widest rate every tier stores exactly: the archive's Parquet DECIMAL(38,24) holds 14 integer and
 * 24 decimal digits (PostgreSQL's numeric holds more). Real rates need far less: a value outside this
 * is a provider's error, rejected as out_of_range.
 */
export const MAX_INTEGER_DIGITS = 14;
export const MAX_DECIMAL_DIGITS = 24;

export function storableRate(value: RateDecimal): boolean {
  return value.abs().lt(new RateDecimal(10).pow(MAX_INTEGER_DIGITS)) && value.decimalPlaces() <= MAX_DECIMAL_DIGITS;
}
