/**
 * ExchangeRate-API's keyed endpoint (v6.exchangerate-api.com): GET /v6/{KEY}/latest/USD. Same data as
 * the open endpoint, but under conversion_rates, with 4 decimals, updated at 00:00:01 UTC.
 */
import { addDays, type IsoDay, latestDailyPublication, utcInstant } from '../../calendar/days.js';
import { formatDecimal, type Market } from '../market.js';
import { jsonObject, jsonResponse, notFound, type ProviderHandler, rfc1123, unixSeconds } from './response.js';

const UPDATE_TIME = '00:00:01';
const DECIMALS = 4;

export function renderExchangerateApiLatest(day: IsoDay, usdRates: ReadonlyMap<string, string>): string {
  const lastUpdate = utcInstant(day, UPDATE_TIME);
  const nextUpdate = utcInstant(addDays(day, 1), UPDATE_TIME);
  const conversionRates = Array.from(usdRates, ([code, value]) => [code, formatDecimal(Number(value), DECIMALS)] as const);
  const payload = jsonObject([
    ['result', '"success"'],
    ['documentation', '"https://www.exchangerate-api.com/docs"'],
    ['terms_of_use', '"https://www.exchangerate-api.com/terms"'],
    ['time_last_update_unix', unixSeconds(lastUpdate)],
    ['time_last_update_utc', JSON.stringify(rfc1123(lastUpdate))],
    ['time_next_update_unix', unixSeconds(nextUpdate)],
    ['time_next_update_utc', JSON.stringify(rfc1123(nextUpdate))],
    ['base_code', '"USD"'],
    ['conversion_rates', jsonObject(conversionRates)],
  ]);
  // Ends with a newline, like the open endpoint.
  return `${payload}\n`;
}

function errorBody(type: string): string {
  return jsonObject([
    ['result', '"error"'],
    ['error-type', JSON.stringify(type)],
  ]);
}

/** apiKey: the only key accepted; when omitted, any key is. */
export function exchangerateApi(market: Market, apiKey?: string): ProviderHandler {
  return (path, _query, at) => {
    const match = /^\/v6\/([^/]+)\/latest\/([^/]+)$/.exec(path);
    if (!match) return notFound();
    if (apiKey !== undefined && decodeURIComponent(match[1] as string) !== apiKey) return jsonResponse(403, errorBody('invalid-key'));
    if (match[2] !== 'USD') return jsonResponse(404, errorBody('unsupported-code'));
    const day = latestDailyPublication(at, UPDATE_TIME);
    return jsonResponse(200, renderExchangerateApiLatest(day, market.usdRates(day)));
  };
}
