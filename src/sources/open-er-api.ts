import { parseErApiLatest } from './er-api.js';
import { buildRequest } from './request.js';
import type { Extraction, HttpResponse, Source, SourceSettings } from './types.js';

const NAME = 'open-er-api';
const BASE = 'USD';

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
    return parseErApiLatest(NAME, response, BASE, 'rates');
  },
};
