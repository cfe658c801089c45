import { z } from 'zod';
import { ecbPublicationTime } from '../calendar/ecb.js';
import { SourceError } from './errors.js';
import { isSuccessStatus, parseShape, quotesFromRates, readJsonBody, unexpectedStatus } from './payload.js';
import { buildRequest } from './request.js';
import { ExactNumber, type Extraction, type HttpResponse, type Source, type SourceRequest, type SourceSettings } from './types.js';

const NAME = 'frankfurter';
const BASE = 'USD';

const errorPayload = z.object({ message: z.string() });

const unitAmount = z
  .instanceof(ExactNumber, { error: 'expected a number' })
  .refine((value) => Number(value.text) === 1, 'expected 1 (rates for another amount are not rates)');

const rateTable = z.record(z.string(), z.unknown());

const latestPayload = z.object({
  amount: unitAmount,
  base: z.string(),
  date: z.iso.date(),
  rates: rateTable,
});

const timeSeriesPayload = z.object({
  amount: unitAmount,
  base: z.string(),
  rates: z.record(z.iso.date(), rateTable),
});

/** ECB reference rates served by Frankfurter, rebased by it to USD; about 30 currencies, ECB business days. */
export const frankfurter: Source = {
  name: NAME,
  defaultBaseUrl: 'https://api.frankfurter.dev',
  urlEnv: 'FXPIPE_FRANKFURTER_URL',
  requestedBase: BASE,
  needsKey: false,

  latestRequest(settings: SourceSettings) {
    return buildRequest({ baseUrl: settings.baseUrl, path: '/v1/latest', params: { base: BASE } });
  },

  parseLatest(response: HttpResponse): Extraction {
    const payload = parseShape(NAME, latestPayload, readFrankfurterBody(response));
    return extraction(payload.base, payload.date, payload.rates);
  },
};

/** The daily rates of every ECB business day from `from` to `to` (YYYY-MM-DD, inclusive). */
export function timeSeriesRequest(settings: SourceSettings, from: string, to: string): SourceRequest {
  for (const date of [from, to]) ecbPublicationTime(date);
  if (from > to) throw new RangeError(`time series from ${from} to ${to}: the start is after the end`);
  return buildRequest({ baseUrl: settings.baseUrl, path: `/v1/${from}..${to}`, params: { base: BASE } });
}

/** One Extraction per date of a time-series response, in published order. */
export function parseTimeSeries(response: HttpResponse): Extraction[] {
  const payload = parseShape(NAME, timeSeriesPayload, readFrankfurterBody(response));
  return Object.entries(payload.rates).map(([date, rates]) => extraction(payload.base, date, rates));
}

function extraction(base: string, date: string, rates: Record<string, unknown>): Extraction {
  return { source: NAME, base, requestedBase: BASE, asOf: ecbPublicationTime(date), quotes: quotesFromRates(rates) };
}

function readFrankfurterBody(response: HttpResponse): unknown {
  const data = readJsonBody(NAME, response);
  if (isSuccessStatus(response.status)) return data;
  const error = errorPayload.safeParse(data);
  if (error.success) throw new SourceError(NAME, `provider error "${error.data.message}" (HTTP ${response.status})`, 'provider');
  throw unexpectedStatus(NAME, response);
}
