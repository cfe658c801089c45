import { SOURCE_NAMES } from '../../sources/types.js';
import {
  CODE,
  CODE_ASKED,
  DAY,
  object,
  OPEN,
  path,
  query,
  RATES,
  ref,
  securedBy,
  getOperation,
  type Answers,
  type Json,
  type OpenApiFamily,
} from './shared.js';

/**
 * Open Exchange Rates (src/serve/backup/oxr.ts, docs/backup.md), mounted at /openexchangerates/api and, for clients
 * that let only the host be set, at the root's /api (its routes only: fxpipe's /api/v1 lives beside them). Errors are
 * OXR's: `{"error": true, "status", "message", "description"}`.
 */

export const OXR_MOUNTS = ['/openexchangerates/api', '/api'];
const TAG = 'Open Exchange Rates';

const SYMBOLS: Json = {
  type: 'string',
  pattern: '^\\s*[A-Za-z]{3}\\s*(,\\s*[A-Za-z]{3}\\s*)*$',
  description: 'Comma-separated codes; unknown ones are left out',
};
const ASKED = [
  query('base', { ...CODE_ASKED, default: 'USD' }),
  query('symbols', SYMBOLS),
  query('source', { type: 'string', enum: [...SOURCE_NAMES] }, "fxpipe's: the source to answer from; default the preferred one"),
];

const error = (status: number, messages: string[], description: string) => ({
  description: `${description}: ${messages.map((m) => `\`${m}\``).join(', ')}`,
  schema: { allOf: [ref('OxrError'), { type: 'object', properties: { status: { const: status }, message: { enum: messages } } }] },
});
const BAD_REQUEST = (messages: string[]) => error(400, messages, 'The request cannot be answered');
const UNAUTHORIZED = error(401, ['missing_app_id', 'invalid_app_id'], 'FXPIPE_API_TOKEN is set and app_id is missing or wrong');
const UNAVAILABLE = error(503, ['service_unavailable'], 'The database cannot answer (and, for latest, no last good answer is in force)');

function get(summary: string, parameters: Json[], answers: Answers, security = securedBy('oxrAppId', 'oxrAuthorizationToken')): Json {
  const always: Answers['errors'] = security.length ? { 503: UNAVAILABLE, 401: UNAUTHORIZED } : { 503: UNAVAILABLE };
  return getOperation({ tag: TAG, summary, security, parameters, answers, always });
}

function pathsAt(mount: string): Record<string, Json> {
  return {
    [`${mount}/latest.json`]: get('The latest rates', ASKED, {
      ok: { schema: ref('OxrRates'), description: "The latest publication's rates", latest: true },
      errors: { 400: BAD_REQUEST(['invalid_base', 'not_available']) },
    }),
    [`${mount}/historical/{date}.json`]: get(
      "A day's rates",
      [path('date', DAY, 'A day without a publication answers the last one before it'), ...ASKED],
      {
        ok: { schema: ref('OxrRates'), description: "The day's rates" },
        errors: { 400: BAD_REQUEST(['invalid_date', 'invalid_base', 'not_available']) },
      },
    ),
    [`${mount}/time-series.json`]: get(
      'The publishing days of a range',
      [query('start', DAY, undefined, true), query('end', DAY, undefined, true), ...ASKED],
      {
        ok: { schema: ref('OxrTimeSeries'), description: 'The publishing days in the range' },
        errors: { 400: BAD_REQUEST(['invalid_date', 'invalid_base', 'not_available']) },
      },
    ),
    [`${mount}/convert/{value}/{from}/{to}`]: get(
      'An amount converted at the latest rates',
      [
        path('value', { type: 'string', pattern: '^\\d{1,15}(\\.\\d{1,15})?$', description: 'A positive decimal' }),
        path('from', CODE_ASKED),
        path('to', CODE_ASKED),
        query('source', { type: 'string', enum: [...SOURCE_NAMES] }, "fxpipe's: the source to answer from; default the preferred one"),
      ],
      {
        ok: { schema: ref('OxrConversion'), description: 'The conversion', latest: true },
        errors: { 400: BAD_REQUEST(['invalid_amount', 'invalid_currency', 'not_available']) },
      },
    ),
    [`${mount}/currencies.json`]: get(
      'The currencies in force, with their names (open, as on OXR)',
      [],
      {
        ok: { schema: ref('OxrCurrencies'), description: 'Code → name', latest: true },
        errors: {},
      },
      OPEN,
    ),
  };
}

const LEGAL = { disclaimer: { type: 'string' }, license: { type: 'string' } };
const TIMESTAMP: Json = { type: 'integer', description: "The publication's time, Unix seconds" };

export const oxr: OpenApiFamily = {
  tags: [{ name: TAG, description: 'Open Exchange Rates (openexchangerates.org/api), answered from the stored rates (docs/backup.md)' }],
  paths: Object.assign({}, ...OXR_MOUNTS.map(pathsAt)) as Record<string, Json>,
  schemas: {
    OxrRates: object({ ...LEGAL, timestamp: TIMESTAMP, base: CODE, rates: RATES }),
    OxrTimeSeries: object({
      ...LEGAL,
      start_date: DAY,
      end_date: DAY,
      base: CODE,
      rates: { type: 'object', propertyNames: DAY, additionalProperties: RATES },
    }),
    OxrConversion: object({
      ...LEGAL,
      request: object({ query: { type: 'string' }, amount: { type: 'number' }, from: CODE, to: CODE }),
      meta: object({ timestamp: TIMESTAMP, rate: { type: 'number' } }),
      response: { type: 'number' },
    }),
    OxrCurrencies: { type: 'object', propertyNames: { pattern: '^[A-Z]{3}$' }, additionalProperties: { type: 'string' } },
    OxrError: object({ error: { const: true }, status: { type: 'integer' }, message: { type: 'string' }, description: { type: 'string' } }),
  },
  securitySchemes: {
    oxrAppId: { type: 'apiKey', in: 'query', name: 'app_id', description: "OXR's App ID: FXPIPE_API_TOKEN" },
    oxrAuthorizationToken: {
      type: 'apiKey',
      in: 'header',
      name: 'Authorization',
      description: 'Authorization: Token <FXPIPE_API_TOKEN>, as OXR takes its App ID too',
    },
  },
};
