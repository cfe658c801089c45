import { asFraction, parseExact, seeded } from './bigint-oracle.js';

/**
 * change_pct by the rule docs/schema.md states, on BigInt fractions only (nothing from src/): (to − from) / from × 100,
 * rounded to 8 decimals with ties away from zero, as text with exactly 8 decimals; null when its magnitude is 1e14 or
 * more.
 */
export function changePctOracle(from: string, to: string): string | null {
  const f = asFraction(parseExact(from));
  const t = asFraction(parseExact(to));
  // (t.num/t.den − f.num/f.den) / (f.num/f.den) × 100 × 10^8 = num / den
  const num = (t.num * f.den - f.num * t.den) * f.den * 10n ** 10n;
  const den = t.den * f.den * f.num;
  const magnitude = num < 0n ? -num : num;
  const q = magnitude / den;
  const units = 2n * (magnitude % den) >= den ? q + 1n : q;
  if (units >= 10n ** 22n) return null;
  const digits = units.toString().padStart(9, '0');
  return `${num < 0n && units > 0n ? '-' : ''}${digits.slice(0, -8)}.${digits.slice(-8)}`;
}

/** Pairs of rates (from, to): ties, both sides of the bound, the extremes of what is storable, and seeded random ones. */
export const CHANGE_PCT_CASES: [string, string][] = [
  ['0.9', '0.91'],
  ['0.91', '0.9'],
  ['1', '1'],
  ['1.10', '1.1'],
  // Ties at the 9th decimal: away from zero, both ways.
  ['1', '1.00000000005'],
  ['1', '0.99999999995'],
  ['2', '2.0000000001'],
  ['3', '3.00000000015'],
  ['1', '1.000000000049999999'],
  // The quotient's scale PostgreSQL's division would pick for round(x / y * 100, 8) is 4 decimals here.
  ['3', '100000000000'],
  ['7', '12345678901'],
  // The bound: 10^14 % and beyond is null.
  ['1', '1000000000000'],
  ['1', '1000000000001'],
  ['1', '999999999999.999999999999'],
  ['1', '1000000000000.99999999999999'],
  ['1', '1000000000000.999999999999995'],
  ['0.0000000000001', '1'],
  ['0.000000000000000000000001', '99999999999999.99'],
  ['99999999999999.99', '0.000000000000000000000001'],
  ['0.000000000000000000000003', '0.000000000000000000000001'],
  ['12345678901234.123456789012345678901234', '12345678901234.123456789012345678901235'],
  ...randomPairs(200),
];

function randomPairs(n: number): [string, string][] {
  const random = seeded(26);
  const rate = () => {
    const digits = String(Math.floor(random() * 1e12) + 1);
    const decimals = Math.floor(random() * 25);
    const point = digits.length - decimals;
    const text = point > 0 ? `${digits.slice(0, point)}.${digits.slice(point)}` : `0.${digits.padStart(decimals, '0')}`;
    return text.replace(/\.$/, '');
  };
  return Array.from({ length: n }, () => {
    const from = rate();
    // Half of them a small move of the same rate, as real publications are.
    return [from, random() < 0.5 ? rate() : (Number(from) * (1 + (random() - 0.5) / 50)).toPrecision(12).replace(/e.*$/, '')];
  });
}
