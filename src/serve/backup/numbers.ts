import { LosslessNumber, stringify } from 'lossless-json';
import { sources } from '../../sources/registry.js';
import { RateDecimal } from '../../transform/decimal.js';

/** A decimal written into JSON as a number with exactly these digits (no float on the way). */
export const jsonNumber = (text: string): LosslessNumber => new LosslessNumber(text);

/** JSON text with LosslessNumber values written as the digits they hold. */
export const exactJson = (value: unknown): string => stringify(value) ?? 'null';

/** How a family rounds the rates it computes: Frankfurter to significant digits, OXR and ExchangeRate-API to decimal places. */
export type Rounding = { significantDigits: number } | { decimalPlaces: number };

/**
 * base→quote from the USD legs as stored, times amount. `published`: the stored USD→quote is what the source
 * published (its base is USD and so is the one asked for), written exactly, times amount. Else the rate is one fxpipe
 * computes (a cross, an inverse, a rebased ECB value), rounded once as the family rounds.
 */
export function rateFromUsd(usdToQuote: string, usdToBase: string, amount: string, published: boolean, rounding: Rounding): string {
  const quote = new RateDecimal(usdToQuote);
  if (published) return quote.times(amount).toFixed();
  const value = quote.div(usdToBase).times(amount);
  return ('significantDigits' in rounding ? value.toSignificantDigits(rounding.significantDigits) : value.toDecimalPlaces(rounding.decimalPlaces)).toFixed();
}

/** The base a source publishes in (the ECB: EUR); USD for a source fxpipe does not know. */
export const publishedBase = (source: string): string => (sources as Record<string, { requestedBase: string } | undefined>)[source]?.requestedBase ?? 'USD';
