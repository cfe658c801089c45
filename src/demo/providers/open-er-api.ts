/**
 * ExchangeRate-API's open-access endpoint (open.er-api.com): GET /v6/latest/USD, USD base only here,
 * rates with up to 6 decimals, updated once a day a few minutes after 00:00 UTC.
 */
import { addDays, type IsoDay, latestDailyPublication, utcInstant } from '../../calendar/days.js';
import type { Market } from '../market.js';
import { jsonObject, jsonResponse, notFound, type ProviderHandler, rfc1123, unixSeconds } from './response.js';

const UPDATE_TIME = '00:02:31';
/** The provider announces its next update a little later than it then happens, as in the seed. */
const ANNOUNCED_UPDATE_TIME = '00:10:21';

export function renderOpenErApiLatest(day: IsoDay, rates: ReadonlyMap<string, string>): string {
  const lastUpdate = utcInstant(day, UPDATE_TIME);
  const nextUpdate = utcInstant(addDays(day, 1), ANNOUNCED_UPDATE_TIME);
  const payload = jsonObject([
    ['result', '"success"'],
    ['provider', '"https://www.exchangerate-api.com"'],
    ['documentation', '"https://www.exchangerate-api.com/docs/free"'],
    ['terms_of_use', '"https://www.exchangerate-api.com/terms"'],
    ['time_last_update_unix', unixSeconds(lastUpdate)],
    ['time_last_update_utc', JSON.stringify(rfc1123(lastUpdate))],
    ['time_next_update_unix', unixSeconds(nextUpdate)],
    ['time_next_update_utc', JSON.stringify(rfc1123(nextUpdate))],
    ['time_eol_unix', '0'],
    ['base_code', '"USD"'],
    ['rates', jsonObject(rates)],
  ]);
  // Ends with a newline, as the seed does.
  return `${payload}\n`;
}

export function openErApi(market: Market): ProviderHandler {
  return (path, _query, at) => {
    const match = /^\/v6\/latest\/([^/]+)$/.exec(path);
    if (!match) return notFound();
    if (match[1] !== 'USD') return jsonResponse(404, '{"result":"error","error-type":"unsupported-code"}');
    const day = latestDailyPublication(at, UPDATE_TIME);
    return jsonResponse(200, renderOpenErApiLatest(day, market.usdRates(day)));
  };
}
