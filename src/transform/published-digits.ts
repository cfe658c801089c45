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
 * reproduces (one loaded by something else than normalize()) is left out: its caller computes it instead.
 *
 * usd: USD→code as stored (the base included); answers base→code for every code recovered, the base itself 1.
 */
export function publishedValues(usd: ReadonlyMap<string, string>, base: string): Map<string, string> {
  const values = new Map<string, string>([[base, '1']]);
  const usdToBase = usd.get(base);
  if (base === 'USD') {
    for (const [code, value] of usd) values.set(code, value);
    return values;
  }
  if (usdToBase === undefined) return values;
  // base→USD: the shortest b with 1 / b stored as USD→base.
  const baseToUsd = shortest(new RateDecimal(1).div(usdToBase), (b) => rebasedRateText(1, b), usdToBase);
  if (baseToUsd === null) return values;
  values.set('USD', baseToUsd.toFixed());
  for (const [code, stored] of usd) {
    if (code === base || code === 'USD') continue;
    const value = shortest(new RateDecimal(stored).times(baseToUsd), (x) => rebasedRateText(x, baseToUsd), stored);
    if (value !== null) values.set(code, value.toFixed());
  }
  return values;
}

/** The decimal of fewest significant digits near `estimate` that `rebase` turns into `stored`. */
function shortest(estimate: Decimal, rebase: (candidate: Decimal) => string, stored: string): Decimal | null {
  const target = new RateDecimal(stored);
  for (let digits = 1; digits <= DERIVED_SIGNIFICANT_DIGITS; digits++) {
    const candidate = estimate.toSignificantDigits(digits, Decimal.ROUND_HALF_UP);
    if (candidate.isZero()) continue;
    if (new RateDecimal(rebase(candidate)).eq(target)) return candidate;
  }
  return null;
}
