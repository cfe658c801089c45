import {
  CODE,
  CODE_ASKED,
  DAY,
  HEADERS,
  object,
  OPEN,
  path,
  query,
  ref,
  responses,
  securedBy,
  getOperation,
  type Answers,
  type Json,
  type OpenApiFamily,
} from './shared.js';

/**
 * Frankfurter v2 (src/serve/backup/frankfurter-v2/, docs/backup.md), mounted at /frankfurter/v2: the routes of
 * lineofflight/frankfurter's lib/versions/v2.rb as fxpipe answers them. Errors are v2's: `{"status": …, "message": …}`.
 */
export const FRANKFURTER_V2_MOUNT = '/frankfurter/v2';
const TAG = 'Frankfurter v2';

const LIST: Json = { type: 'string', description: 'Comma-separated, any case' };
const RATES_ASKED = [
  query('date', DAY, 'A day (YYYY-MM-DD); not with from/to. Default: the latest'),
  query('from', DAY, "A range's first day"),
  query('to', DAY, "A range's last day; default today"),
  query('base', { ...CODE_ASKED, default: 'EUR' }),
  query('quotes', LIST, 'The quote currencies; default every one'),
  query('providers', LIST, "fxpipe sources by key (their names upper-cased: ECB, OPEN-ER-API, …); default fxpipe's preferred source"),
  query('group', { type: 'string', enum: ['week', 'month'] }, "A range's weekly or monthly averages"),
  query('expand', { type: 'string', enum: ['providers'] }, "Each provider's own rate beside each record"),
];

const error = (description: string) => ({ schema: ref('FrankfurterV2Error'), description });
const UNPROCESSABLE = error(
  '`unknown parameter: …`, `invalid date`, `conflicting params`, `invalid group`, `invalid expand: …`, ' +
    '`invalid currency: …`, or a daily range over 5 years with providers or expand=providers',
);
const NOT_FOUND = error('`not found`');

const ALWAYS = {
  401: error('FXPIPE_API_TOKEN is set and the request carries no token or a wrong one'),
  503: error('The database cannot answer'),
};
const get = (summary: string, parameters: Json[], answers: Answers): Json =>
  getOperation({ tag: TAG, summary, security: securedBy('bearerToken', 'tokenQuery'), parameters, answers, always: ALWAYS });

const RATES_OK = {
  schema: { type: 'array', items: ref('FrankfurterV2Rate') },
  description: 'One record per pair; a range in date order, streamed',
};

/** v2's paths under `mount` (the whole document's) or under its own server (v2's own document, at /frankfurter/v2/openapi.json). */
export function frankfurterV2Paths(mount = FRANKFURTER_V2_MOUNT): Record<string, Json> {
  return {
    [mount || '/']: {
      get: {
        tags: [TAG],
        summary: "v2's root: its version and where its document is",
        security: securedBy('bearerToken', 'tokenQuery'),
        responses: responses({
          ok: { schema: ref('FrankfurterV2Root'), description: "v2.rb's ROOT_PAYLOAD" },
          errors: { 401: error('FXPIPE_API_TOKEN is set and the request carries no token or a wrong one') },
        }),
      },
    },
    [`${mount}/openapi.json`]: {
      get: {
        tags: [TAG],
        summary: 'This part of the description on its own (OpenAPI 3.1)',
        security: OPEN,
        responses: responses({ ok: { schema: { type: 'object' }, description: 'The document' }, errors: {} }),
      },
    },
    [`${mount}/rates`]: get("Rates: the latest, a day's, or a range's (JSON, or NDJSON and CSV by Accept)", RATES_ASKED, {
      ok: RATES_OK,
      errors: { 422: UNPROCESSABLE },
    }),
    [`${mount}/rates.csv`]: get('Rates as CSV: date,base,quote,rate (and providers, `KEY:RATE|…`, when expanded)', RATES_ASKED, {
      ok: { schema: { type: 'string' }, description: 'CSV', type: 'text/csv' },
      errors: { 422: UNPROCESSABLE },
    }),
    [`${mount}/rate/{base}/{quote}`]: get(
      "One pair's rate",
      [path('base', CODE_ASKED), path('quote', CODE_ASKED), RATES_ASKED[0]!, RATES_ASKED[5]!],
      {
        ok: { schema: ref('FrankfurterV2Rate'), description: "The pair's record" },
        errors: { 404: NOT_FOUND, 422: UNPROCESSABLE },
      },
    ),
    [`${mount}/currencies`]: get(
      'Currencies with their first and last days',
      [
        query('scope', { type: 'string', enum: ['all'] }, 'Every currency, not only those with a rate in the last 30 days'),
        RATES_ASKED[5]!,
      ],
      { ok: { schema: { type: 'array', items: ref('FrankfurterV2Currency') }, description: 'By code' }, errors: {} },
    ),
    [`${mount}/currency/{code}`]: get('One currency and the providers that have it', [path('code', CODE_ASKED)], {
      ok: { schema: ref('FrankfurterV2CurrencyDetail'), description: 'The currency' },
      errors: { 404: NOT_FOUND },
    }),
    [`${mount}/providers`]: get("The providers: fxpipe's sources with stored rates", [], {
      ok: { schema: { type: 'array', items: ref('FrankfurterV2Provider') }, description: 'By key' },
      errors: {},
    }),
  };
}

const NUMBER: Json = { type: 'number', exclusiveMinimum: 0 };
const NULLABLE_TEXT: Json = { type: ['string', 'null'] };
const CURRENCY = {
  iso_code: CODE,
  iso_numeric: NULLABLE_TEXT,
  name: { type: 'string' },
  symbol: NULLABLE_TEXT,
  start_date: DAY,
  end_date: DAY,
};

export const FRANKFURTER_V2_SCHEMAS: Record<string, Json> = {
  FrankfurterV2Rate: object(
    {
      date: DAY,
      base: CODE,
      quote: CODE,
      rate: NUMBER,
      providers: { type: 'array', items: object({ key: { type: 'string' }, date: DAY, rate: NUMBER }) },
    },
    ['providers'],
  ),
  FrankfurterV2Currency: object(CURRENCY),
  FrankfurterV2CurrencyDetail: object({ ...CURRENCY, providers: { type: 'array', items: { type: 'string' } } }),
  FrankfurterV2Provider: object({
    key: { type: 'string' },
    name: { type: 'string' },
    country_code: { type: 'null' },
    rate_type: { type: 'null' },
    pivot_currency: NULLABLE_TEXT,
    data_url: { type: 'null' },
    terms_url: { type: 'null' },
    start_date: DAY,
    end_date: DAY,
    publish_cadence: { type: 'null' },
    publishes_missed: { type: 'null' },
    currencies: { type: 'array', items: CODE },
  }),
  FrankfurterV2Root: object({
    version: { const: 'v2' },
    status: { const: 'current' },
    openapi: { type: 'string' },
    docs: { type: 'string' },
  }),
  FrankfurterV2Error: object({ status: { type: 'integer' }, message: { type: 'string' } }),
};

export const frankfurterV2: OpenApiFamily = {
  tags: [{ name: TAG, description: 'Frankfurter v2 (api.frankfurter.dev/v2), answered from the stored rates (docs/backup.md)' }],
  paths: frankfurterV2Paths(),
  schemas: FRANKFURTER_V2_SCHEMAS,
};

/** v2's own document, served at /frankfurter/v2/openapi.json as Frankfurter serves its own at /v2/openapi.json. */
export function v2Document(): Json {
  return {
    openapi: '3.1.0',
    info: {
      title: 'fxpipe serve: Frankfurter v2',
      version: '2',
      description: "Frankfurter v2's routes, answered from fxpipe's stored rates (docs/backup.md)",
    },
    servers: [{ url: FRANKFURTER_V2_MOUNT }],
    tags: frankfurterV2.tags,
    paths: frankfurterV2Paths(''),
    components: {
      schemas: FRANKFURTER_V2_SCHEMAS,
      headers: HEADERS,
      securitySchemes: { bearerToken: { type: 'http', scheme: 'bearer' }, tokenQuery: { type: 'apiKey', in: 'query', name: 'token' } },
    },
  };
}
