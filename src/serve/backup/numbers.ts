import { LosslessNumber, stringify } from 'lossless-json';
import { RateDecimal } from '../../transform/decimal.js';
import { exactRate, type PublishedDay } from './published.js';

/** A decimal written into JSON as a number with exactly these digits (no float on the way). */
export const jsonNumber = (text: string): LosslessNumber => new LosslessNumber(text);

/** JSON text with LosslessNumber values written as the digits they hold. */
export const exactJson = (value: unknown): string => stringify(value) ?? 'null';

/**
 * How a family rounds the rates it computes (a cross, an inverse, a rate times an amount). A rate the source published
 * as such, asked for in the source's own base and for an amount of 1, is never rounded: it is answered with the digits
 * the source published (published.ts, exactRate).
 */
export interface FamilyRounding {
  round(value: RateDecimal): string;
  /** Whether a published rate times an amount other than 1 is rounded too (Frankfurter: yes, lib/versions/v1/quote/base.rb). */
  roundsAmounts: boolean;
}

/**
 * Frankfurter's rounding (lineofflight/frankfurter, lib/roundable.rb): decimal places chosen by the value's magnitude —
 * more than 5000: 0, more than 80: 2, more than 20: 3, more than 1: 4, more than 0.0001: 5, else 6. Frankfurter rounds
 * a binary float (Ruby's Float#round, half away from zero, and format('%.2f')); this rounds the exact decimal half away
 * from zero, which is the same except where the float's own error decides a tie.
 */
export function magnitudeRound(value: RateDecimal): string {
  const places = value.gt(5000) ? 0 : value.gt(80) ? 2 : value.gt(20) ? 3 : value.gt(1) ? 4 : value.gt('0.0001') ? 5 : 6;
  return value.toDecimalPlaces(places, RateDecimal.ROUND_HALF_UP).toFixed();
}

export const FRANKFURTER_ROUNDING: FamilyRounding = { round: magnitudeRound, roundsAmounts: true };

/** A family that writes at most `places` decimal places (OXR, ExchangeRate-API), half to even. */
export const decimalPlaces = (places: number): FamilyRounding => ({
  round: (value) => value.toDecimalPlaces(places, RateDecimal.ROUND_HALF_EVEN).toFixed(),
  roundsAmounts: false,
});

/** An amount of exactly one unit, however written (1, 1.0, 1.00). */
export const isOne = (amount: string): boolean => new RateDecimal(amount).eq(1);

/**
 * base→quote of a day's publication times amount, as a family answers it: the source's own digits when it published
 * that rate (its base asked for) for one unit, else the exact rate from the published values, rounded once as the
 * family rounds. Null when the day has no rate for base or quote.
 */
export function answeredRate(day: PublishedDay, base: string, quote: string, amount: string, rounding: FamilyRounding): string | null {
  const exact = exactRate(day, base, quote);
  if (exact === null) return null;
  const value = exact.rate.times(amount);
  if (exact.published && (isOne(amount) || !rounding.roundsAmounts)) return value.toFixed();
  return rounding.round(value);
}

/**
 * The day's rates against base for the codes asked (null: every code), in code order, as a family answers them
 * (answeredRate): base itself as exactly 1 when withBase, else left out. Codes the day has no rate for are left out.
 */
export function ratesAgainst(
  day: PublishedDay,
  base: string,
  symbols: readonly string[] | null,
  rounding: FamilyRounding,
  options: { amount?: string; withBase: boolean },
): Map<string, string> {
  const amount = options.amount ?? '1';
  const codes = [...day.usd.keys()]
    .filter((code) => (symbols === null || symbols.includes(code)) && (options.withBase || code !== base))
    .sort();
  return new Map(codes.map((code) => [code, code === base ? amount : answeredRate(day, base, code, amount, rounding)!]));
}

/** The same, as the numbers of a JSON answer. */
export const jsonRates = (rates: Map<string, string>): Record<string, unknown> =>
  Object.fromEntries([...rates].map(([code, text]) => [code, jsonNumber(text)]));

/** A family's comma-separated list of codes (symbols=, to=): null when absent or blank; each trimmed, upper-cased, empties dropped. */
export function codeList(text: string | undefined): string[] | null {
  if (text === undefined || text.trim() === '') return null;
  return text
    .split(',')
    .map((code) => code.trim().toUpperCase())
    .filter(Boolean);
}
