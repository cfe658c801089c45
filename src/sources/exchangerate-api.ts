import { z } from 'zod';
import { SourceError } from './errors.js';
import { rateTable, readErApiBody, unixSeconds } from './er-api.js';
import { parseShape, quotesFromRates } from './payload.js';
import { buildRequest } from './request.js';
import type { Extraction, HttpResponse, Source, SourceSettings } from './types.js';

const NAME = 'exchangerate-api';
const BASE = 'USD';

const latestPayload = z.object({
  result: z.literal('success'),
  base_code: z.string(),
  time_last_update_unix: unixSeconds,
  conversion_rates: rateTable,
});

/** ExchangeRate-API with an API key (EXCHANGERATE_API_KEY), which goes in the URL path. */
export const exchangerateApi: Source = {
  name: NAME,
  defaultBaseUrl: 'https://v6.exchangerate-api.com',
  urlEnv: 'FXPIPE_EXCHANGERATE_API_URL',
  requestedBase: BASE,
  needsKey: true,

  latestRequest(settings: SourceSettings) {
    const key = settings.apiKey?.trim();
    if (!key) throw new SourceError(NAME, 'EXCHANGERATE_API_KEY is not set', 'config');
    const encoded = encodeURIComponent(key);
    return buildRequest({
      baseUrl: settings.baseUrl,
      path: `/v6/${encoded}/latest/${BASE}`,
      redactedPath: `/v6/***/latest/${BASE}`,
      secrets: [...new Set([key, encoded])],
    });
  },

  parseLatest(response: HttpResponse): Extraction {
    const payload = parseShape(NAME, latestPayload, readErApiBody(NAME, response));
    return {
      source: NAME,
      base: payload.base_code,
      requestedBase: BASE,
      asOf: payload.time_last_update_unix,
      quotes: quotesFromRates(payload.conversion_rates),
    };
  },
};
