import { z } from 'zod';
import { rateTable, readErApiBody, unixSeconds } from './er-api.js';
import { parseShape, quotesFromRates } from './payload.js';
import { buildRequest } from './request.js';
import type { Extraction, HttpResponse, Source, SourceSettings } from './types.js';

const NAME = 'open-er-api';
const BASE = 'USD';

const latestPayload = z.object({
  result: z.literal('success'),
  base_code: z.string(),
  time_last_update_unix: unixSeconds,
  rates: rateTable,
});

/** ExchangeRate-API's open-access endpoint: no key, about 160 currencies, updated daily. */
export const openErApi: Source = {
  name: NAME,
  defaultBaseUrl: 'https://open.er-api.com',
  urlEnv: 'FXPIPE_OPEN_ER_API_URL',
  requestedBase: BASE,
  needsKey: false,

  latestRequest(settings: SourceSettings) {
    return buildRequest({ baseUrl: settings.baseUrl, path: `/v6/latest/${BASE}` });
  },

  parseLatest(response: HttpResponse): Extraction {
    const payload = parseShape(NAME, latestPayload, readErApiBody(NAME, response));
    return {
      source: NAME,
      base: payload.base_code,
      requestedBase: BASE,
      asOf: payload.time_last_update_unix,
      quotes: quotesFromRates(payload.rates),
    };
  },
};
