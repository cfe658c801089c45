/**
 * Frankfurter (api.frankfurter.dev): the ECB's reference rates, rebased on request.
 * GET /v1/latest?base=USD and GET /v1/{from}..{to}?base=USD (to optional). Rounds and rebases as
 * Frankfurter's source does: each EUR rate rounded by magnitude, then divided by the base's rounded
 * EUR rate and rounded again; keys alphabetical, the base left out, EUR included.
 */
import { dayOf, isCalendarDay } from '../../calendar/days.js';
import { ecbBusinessDayOnOrBefore, ecbBusinessDays, ecbLatestPublishedDay } from '../../calendar/ecb.js';
import type { Market } from '../market.js';
import { jsonObject, jsonResponse, notFound, type ProviderHandler, type ProviderResponse } from './response.js';

const CONTENT_TYPE = 'application/json; charset=utf-8';
/** Frankfurter serves only amount 1, written as the Ruby Float it is. */
const AMOUNT = '1.0';

/** A Float as Ruby's JSON writes it: "1.0" for whole numbers, "6.0e-05" below 1e-4. */
function rubyFloat(value: number): string {
  if (value !== 0 && Math.abs(value) < 1e-4) {
    const [mantissa = '', exponent = ''] = value.toExponential().split('e');
    return `${mantissa.includes('.') ? mantissa : `${mantissa}.0`}e-${exponent.slice(1).padStart(2, '0')}`;
  }
  return Number.isInteger(value) ? value.toFixed(1) : String(value);
}

/** Frankfurter's rounding by magnitude, as JSON number text (above 5000 it becomes an Integer). */
function roundByMagnitude(value: number): string {
  if (value > 5000) return String(Math.round(value));
  const decimals = value > 80 ? 2 : value > 20 ? 3 : value > 1 ? 4 : value > 0.0001 ? 5 : 6;
  return rubyFloat(Number(value.toFixed(decimals)));
}

/** base→X as Frankfurter publishes them from one day's ECB rates; undefined when base is not an ECB currency. */
export function frankfurterRates(ecbRates: ReadonlyMap<string, string>, base: string): [string, string][] | undefined {
  const eurRates = new Map(Array.from(ecbRates, ([code, value]) => [code, roundByMagnitude(Number(value))]));
  const byCode = (a: [string, string], b: [string, string]) => (a[0] < b[0] ? -1 : 1);
  if (base === 'EUR') return [...eurRates].sort(byCode);
  const divisor = eurRates.get(base);
  if (divisor === undefined) return undefined;
  eurRates.delete(base);
  eurRates.set('EUR', AMOUNT);
  return [...eurRates].sort(byCode).map(([code, value]) => [code, roundByMagnitude(Number(value) / Number(divisor))]);
}

function messageResponse(status: number, message: string): ProviderResponse {
  return jsonResponse(status, jsonObject([['message', JSON.stringify(message)]]), CONTENT_TYPE);
}

export function frankfurter(market: Market): ProviderHandler {
  return (path, query, at) => {
    const base = (query.get('base') ?? 'EUR').toUpperCase();
    if (path === '/v1/latest') {
      const date = ecbLatestPublishedDay(at);
      const rates = frankfurterRates(market.ecbRates(date), base);
      if (!rates) return messageResponse(404, 'not found');
      const body = jsonObject([
        ['amount', AMOUNT],
        ['base', JSON.stringify(base)],
        ['date', JSON.stringify(date)],
        ['rates', jsonObject(rates)],
      ]);
      return jsonResponse(200, body, CONTENT_TYPE);
    }
    const range = /^\/v1\/(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})?$/.exec(path);
    if (!range) return notFound();
    const today = dayOf(at);
    const [from = '', to = today] = range.slice(1);
    if (!isCalendarDay(from) || !isCalendarDay(to)) return messageResponse(422, 'invalid date');
    if (from > today) return messageResponse(404, 'not found');
    // Like Frankfurter, the series starts at the last business day on or before `from`.
    const latest = ecbLatestPublishedDay(at);
    const days = ecbBusinessDays(ecbBusinessDayOnOrBefore(from), to < latest ? to : latest);
    const series: [string, string][] = [];
    for (const day of days) {
      const rates = frankfurterRates(market.ecbRates(day), base);
      if (!rates) return messageResponse(404, 'not found');
      series.push([day, jsonObject(rates)]);
    }
    const [first, last] = [days[0], days[days.length - 1]];
    if (first === undefined || last === undefined) return messageResponse(404, 'not found');
    const body = jsonObject([
      ['amount', AMOUNT],
      ['base', JSON.stringify(base)],
      ['start_date', JSON.stringify(first)],
      ['end_date', JSON.stringify(last)],
      ['rates', jsonObject(series)],
    ]);
    return jsonResponse(200, body, CONTENT_TYPE);
  };
}
