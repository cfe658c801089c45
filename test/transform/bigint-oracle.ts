/**
 * An exact decimal oracle for the transform tests, on JavaScript BigInt only: nothing here touches
 * decimal.js or src/, so the tests compare the module's arithmetic with an independent one.
 * A decimal is a rational coef / 10^scale (scale may be negative).
 */

export interface Exact {
  coef: bigint;
  scale: number;
}

const TEN = 10n;
const pow10 = (n: number): bigint => TEN ** BigInt(n);

/** Plain or exponent decimal text ("-12.5", "1.5E+2", "7e-3") to coef / 10^scale, exactly. */
export function parseExact(text: string): Exact {
  const m = /^([+-]?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text.trim());
  if (!m) throw new Error(`oracle: not a decimal: ${text}`);
  const [, sign, int, frac = '', exp = '0'] = m;
  const coef = BigInt(`${int}${frac}`) * (sign === '-' ? -1n : 1n);
  return { coef, scale: frac.length - Number(exp) };
}

/** num / den as a fraction of bigints (den > 0). */
export function asFraction(x: Exact): { num: bigint; den: bigint } {
  return x.scale >= 0 ? { num: x.coef, den: pow10(x.scale) } : { num: x.coef * pow10(-x.scale), den: 1n };
}

/** q / 10^scale as plain text, no exponent, trailing fractional zeros removed. */
export function plainText(q: bigint, scale: number): string {
  const negative = q < 0n;
  let digits = (negative ? -q : q).toString();
  let text: string;
  if (scale <= 0) {
    text = q === 0n ? '0' : digits + '0'.repeat(-scale);
  } else {
    digits = digits.padStart(scale + 1, '0');
    const int = digits.slice(0, digits.length - scale);
    const frac = digits.slice(digits.length - scale).replace(/0+$/, '');
    text = frac ? `${int}.${frac}` : int;
  }
  return negative && text !== '0' ? `-${text}` : text;
}

/** Integer division of a non-negative num by den > 0, rounded half to even. */
function divHalfEven(num: bigint, den: bigint): bigint {
  const q = num / den;
  const twice = 2n * (num % den);
  if (twice > den || (twice === den && q % 2n === 1n)) return q + 1n;
  return q;
}

/** Integer division of a non-negative num by den > 0, rounded half up (the bug the tests must catch). */
function divHalfUp(num: bigint, den: bigint): bigint {
  const q = num / den;
  return 2n * (num % den) >= den ? q + 1n : q;
}

/**
 * num / den (any sign, den > 0) rounded to `digits` significant digits, as plain text.
 * mode 'half-even' is the reference; 'half-up' exists so tests can show their cases tell the two apart.
 */
export function roundSignificant(num: bigint, den: bigint, digits: number, mode: 'half-even' | 'half-up' = 'half-even'): string {
  if (den <= 0n) throw new Error('oracle: den must be positive');
  if (num === 0n) return '0';
  const negative = num < 0n;
  const n = negative ? -num : num;
  // Choose s so that floor(n·10^s / den) has exactly `digits` digits.
  let s = digits - (n.toString().length - den.toString().length) - 1;
  const scaled = (k: number) => (k >= 0 ? { a: n * pow10(k), b: den } : { a: n, b: den * pow10(-k) });
  for (;;) {
    const { a, b } = scaled(s);
    const floor = a / b;
    const len = floor.toString().length;
    if (floor !== 0n && len === digits) break;
    s += len < digits || floor === 0n ? 1 : -1;
  }
  const { a, b } = scaled(s);
  let q = mode === 'half-even' ? divHalfEven(a, b) : divHalfUp(a, b);
  if (q.toString().length > digits) {
    // 99…9 carried to 10…0: one digit fewer after the point (the dropped digit is a zero).
    q /= TEN;
    s -= 1;
  }
  return plainText(negative ? -q : q, s);
}

/** num / den (any sign, den > 0) rounded to `places` decimal places, half to even. */
export function roundPlaces(num: bigint, den: bigint, places: number): { q: bigint; text: string } {
  const negative = num < 0n;
  const a = (negative ? -num : num) * pow10(places);
  const q = divHalfEven(a, den) * (negative ? -1n : 1n);
  return { q, text: plainText(q, places) };
}

/** A small deterministic generator (LCG), so "random" cases are the same on every run. */
export function seeded(seed: number): () => number {
  let state = BigInt(seed) & 0xffffffffffffn;
  return () => {
    state = (state * 25214903917n + 11n) & 0xffffffffffffn;
    return Number(state >> 17n) / 2 ** 31;
  };
}
