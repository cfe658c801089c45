/**
 * PostgreSQL's numeric arithmetic, for the answers serve computes without asking the database: the same digits
 * `trim_scale(amount * rate_to / rate_from)` gives in api.convert. From PostgreSQL's src/backend/utils/adt/numeric.c:
 *
 * - a value is an integer of decimal digits and a display scale (dscale: its digits after the point, trailing zeros
 *   included: '1.0850' has 4);
 * - a product is exact, its scale the sum of the factors' (numeric_mul: rscale = dscale1 + dscale2);
 * - a quotient is rounded half away from zero at the scale select_div_scale chooses: at least 16 significant digits
 *   (NUMERIC_MIN_SIG_DIGITS) counted from the quotient's estimated weight in base-10000 digits (NBASE), and no fewer
 *   digits after the point than either operand has, at most 1000 (NUMERIC_MAX_DISPLAY_SCALE);
 * - trim_scale drops trailing zeros after the point.
 *
 * Checked against PostgreSQL itself, on random values, in test/warehouse/pg-numeric.property.db.test.ts.
 */

/** value = units / 10^scale */
export interface Numeric {
  units: bigint;
  scale: number;
}

const PLAIN = /^([+-]?)(\d*)(?:\.(\d*))?$/;
const MIN_SIG_DIGITS = 16;
const DEC_DIGITS = 4;
const MAX_DISPLAY_SCALE = 1000;

const pow10 = (n: number): bigint => 10n ** BigInt(n);
const abs = (n: bigint): bigint => (n < 0n ? -n : n);

/** A numeric as PostgreSQL reads plain decimal text ('-12.50', '007', '.5'); anything else throws. */
export function parseNumeric(text: string): Numeric {
  const match = PLAIN.exec(text.trim());
  const [, sign, whole = '', fraction = ''] = match ?? [];
  if (!match || (whole === '' && fraction === '')) throw new Error(`not a plain decimal number: ${JSON.stringify(text.slice(0, 40))}`);
  const units = BigInt(`${whole}${fraction}` || '0');
  return { units: sign === '-' ? -units : units, scale: fraction.length };
}

/** The text PostgreSQL's numeric_out gives: every digit of the scale, no sign on zero. */
export function numericText(n: Numeric): string {
  const digits = abs(n.units)
    .toString()
    .padStart(n.scale + 1, '0');
  const whole = digits.slice(0, digits.length - n.scale);
  const text = n.scale > 0 ? `${whole}.${digits.slice(digits.length - n.scale)}` : whole;
  return n.units < 0n ? `-${text}` : text;
}

export function multiply(a: Numeric, b: Numeric): Numeric {
  return { units: a.units * b.units, scale: a.scale + b.scale };
}

/** The weight of the first non-zero base-10000 digit, and that digit (0, 0 for zero). */
function firstDigit(n: Numeric): { weight: number; digit: bigint } {
  const units = abs(n.units);
  if (units === 0n) return { weight: 0, digit: 0n };
  const exponent = units.toString().length - 1 - n.scale;
  const weight = Math.floor(exponent / DEC_DIGITS);
  const shift = -DEC_DIGITS * weight - n.scale;
  return { weight, digit: shift >= 0 ? units * pow10(shift) : units / pow10(-shift) };
}

/** select_div_scale: the scale of a / b. */
export function divisionScale(a: Numeric, b: Numeric): number {
  const first = firstDigit(a);
  const second = firstDigit(b);
  // The quotient's weight; with equal first digits PostgreSQL cannot be sure, and assumes a < b.
  let weight = first.weight - second.weight;
  if (first.digit <= second.digit) weight--;
  const scale = Math.max(MIN_SIG_DIGITS - weight * DEC_DIGITS, a.scale, b.scale, 0);
  return Math.min(scale, MAX_DISPLAY_SCALE);
}

/** a / b at select_div_scale's scale, rounded half away from zero; throws on division by zero, as PostgreSQL does. */
export function divide(a: Numeric, b: Numeric): Numeric {
  if (b.units === 0n) throw new RangeError('division by zero');
  const scale = divisionScale(a, b);
  // a / b * 10^scale = a.units * 10^(scale + b.scale - a.scale) / b.units
  const exponent = scale + b.scale - a.scale;
  const numerator = abs(a.units) * (exponent > 0 ? pow10(exponent) : 1n);
  const denominator = abs(b.units) * (exponent < 0 ? pow10(-exponent) : 1n);
  let units = numerator / denominator;
  if (2n * (numerator % denominator) >= denominator) units += 1n;
  return { units: a.units < 0n !== b.units < 0n ? -units : units, scale };
}

export function trimScale(n: Numeric): Numeric {
  let { units, scale } = n;
  while (scale > 0 && units % 10n === 0n) {
    units /= 10n;
    scale--;
  }
  return { units, scale };
}

/** api.convert's arithmetic on PostgreSQL's text of its inputs: trim_scale(amount * to / from), trim_scale(to / from). */
export function conversionText(amount: string, rateFrom: string, rateTo: string): { amount: string; rate: string; converted: string } {
  const given = parseNumeric(amount);
  const f = parseNumeric(rateFrom);
  const t = parseNumeric(rateTo);
  return {
    amount: numericText(given),
    rate: numericText(trimScale(divide(t, f))),
    converted: numericText(trimScale(divide(multiply(given, t), f))),
  };
}
