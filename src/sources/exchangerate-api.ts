import { SourceError } from './errors.js';
import { parseErApiLatest } from './er-api.js';
import { buildRequest } from './request.js';
import type { Extraction, HttpResponse, Source, SourceSettings } from './types.js';

const NAME = 'exchangerate-api';
const BASE = 'USD';

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
    return parseErApiLatest(NAME, response, BASE, 'conversion_rates');
  },
};
