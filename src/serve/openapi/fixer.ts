import { ERRORS, type FixerType } from '../backup/fixer.js';
import { SOURCE_NAMES } from '../../sources/types.js';
import {
  CODE,
  CODE_ASKED,
  DAY,
  object,
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
 * Fixer (src/serve/backup/fixer.ts, docs/backup.md "Fixer"), mounted at /fixer. Its errors are Fixer's,
 * `{"success": false, "error": {"code", "type", "info"}}`, answered with HTTP 200 as Fixer answers them: each route's 200
 * is one of its success and the refusals it can give (their codes and types read from fixer.ts's table).
 */

const MOUNT = '/fixer';
const TAG = 'Fixer';

const SYMBOLS: Json = {
  type: 'string',
  pattern: '^\\s*[A-Za-z]{3}\\s*(,\\s*[A-Za-z]{3}\\s*)*$',
  description: 'Comma-separated codes; default every one (a code that is none: 202)',
};
const SOURCE = query(
  'source',
  { type: 'string', enum: [...SOURCE_NAMES] },
  "fxpipe's: the source to answer from; default the preferred one",
);
const ASKED = [
  query('base', { ...CODE_ASKED, default: 'EUR' }, "Default EUR, as Fixer's (an unknown one: 201)"),
  query('symbols', SYMBOLS),
  SOURCE,
];
const TIMEFRAME = [
  query('start_date', DAY, 'The first day (missing with end_date: 501; not a day: 502)', true),
  query('end_date', DAY, 'The last day, at most 365 after start_date (not a day: 503; before start_date: 504; too far: 505)', true),
  ...ASKED,
];

/** Every route checks the key first, when a token is set. */
const KEY_REFUSALS: FixerType[] = ['missing_access_key', 'invalid_access_key'];

/** The refusals a route gives (always with the key's), each its code and type together. */
function refusals(types: FixerType[]): { schema: Json; description: string } {
  const all = [...KEY_REFUSALS, ...types];
  return {
    description: all.map((type) => `\`${ERRORS[type][0]} ${type}\``).join(', '),
    schema: {
      allOf: [
        ref('FixerError'),
        {
          type: 'object',
          properties: {
            error: {
              oneOf: all.map((type) => ({ type: 'object', properties: { code: { const: ERRORS[type][0] }, type: { const: type } } })),
            },
          },
        },
      ],
    },
  };
}

/** Fixer lists no code for its own outage: 500 (src/serve/families.ts), the HTTP status saying 503. */
const UNAVAILABLE = {
  description: 'The database cannot answer (and, for a latest answer, no last good one is in force): `500 service_unavailable`',
  schema: {
    allOf: [
      ref('FixerError'),
      {
        type: 'object',
        properties: { error: { type: 'object', properties: { code: { const: 500 }, type: { const: 'service_unavailable' } } } },
      },
    ],
  },
};

function get(summary: string, parameters: Json[], ok: Answers['ok'], refused: FixerType[]): Json {
  const refusal = refusals(refused);
  return getOperation({
    tag: TAG,
    summary,
    security: securedBy('fixerAccessKey', 'fixerApiKey'),
    parameters,
    answers: {
      ok: { ...ok, description: `${ok.description}; or a refusal, also with HTTP 200: ${refusal.description}`, refusals: refusal.schema },
      errors: { 503: UNAVAILABLE },
    },
  });
}

const ASKED_REFUSALS: FixerType[] = ['invalid_base_currency', 'invalid_currency_codes', 'no_rates_available'];
const TIMEFRAME_REFUSALS: FixerType[] = [
  ...ASKED_REFUSALS,
  'no_timeframe_supplied',
  'invalid_start_date',
  'invalid_end_date',
  'invalid_time_frame',
  'time_frame_too_long',
];

const paths: Record<string, Json> = {
  [`${MOUNT}/latest`]: get(
    'The latest rates',
    ASKED,
    { schema: ref('FixerLatest'), description: "The latest publication's rates", latest: true },
    ASKED_REFUSALS,
  ),
  [`${MOUNT}/{date}`]: get(
    "A day's rates: the last publication on or before it, under the date asked for",
    [
      path('date', DAY, 'YYYY-MM-DD (a day the calendar has not: 302; a path of another shape is no route: 103; after today: 106)'),
      ...ASKED,
    ],
    { schema: ref('FixerHistorical'), description: "The day's rates" },
    [...ASKED_REFUSALS, 'invalid_date', 'invalid_api_function'],
  ),
  [`${MOUNT}/timeseries`]: get(
    'The publishing days of a range',
    TIMEFRAME,
    { schema: ref('FixerTimeseries'), description: "Each publishing day's rates" },
    TIMEFRAME_REFUSALS,
  ),
  [`${MOUNT}/fluctuation`]: get(
    'How each rate moved between two days',
    TIMEFRAME,
    { schema: ref('FixerFluctuation'), description: 'The rates in force on start_date and on end_date, from one source' },
    TIMEFRAME_REFUSALS,
  ),
  [`${MOUNT}/convert`]: get(
    'An amount converted, at the latest rates or on a day',
    [
      query('from', CODE_ASKED, 'An unknown one: 401', true),
      query('to', CODE_ASKED, 'An unknown one: 402', true),
      query(
        'amount',
        { type: 'string', pattern: '^\\d{1,15}(\\.\\d{1,15})?$', description: 'A positive decimal (else 403)' },
        undefined,
        true,
      ),
      query('date', DAY, 'A day: its rates, and `historical: true` (not a day: 302)'),
      SOURCE,
    ],
    { schema: ref('FixerConversion'), description: 'The conversion', latest: true },
    ['invalid_from_currency', 'invalid_to_currency', 'invalid_conversion_amount', 'invalid_date', 'no_rates_available'],
  ),
  [`${MOUNT}/symbols`]: get(
    'The currencies in force, with their names',
    [],
    { schema: ref('FixerSymbols'), description: 'Code → name', latest: true },
    [],
  ),
};

const SUCCESS = { success: { const: true } };
const TIMESTAMP: Json = { type: 'integer', description: "The publication's time, Unix seconds" };
const RANGE = { start_date: DAY, end_date: DAY, base: CODE };

export const fixer: OpenApiFamily = {
  tags: [
    {
      name: TAG,
      description:
        'Fixer (data.fixer.io/api; exchangerate.host and currencylayer share its shape), answered from the ' +
        'stored rates (docs/backup.md). Every error is a 200 `{"success": false, "error": {…}}` but the database\'s 503; any other ' +
        'path under /fixer is `103 invalid_api_function`.',
    },
  ],
  paths,
  schemas: {
    FixerLatest: object({ ...SUCCESS, timestamp: TIMESTAMP, base: CODE, date: DAY, rates: RATES }),
    FixerHistorical: object({ ...SUCCESS, historical: { const: true }, date: DAY, timestamp: TIMESTAMP, base: CODE, rates: RATES }),
    FixerTimeseries: object({
      ...SUCCESS,
      timeseries: { const: true },
      ...RANGE,
      rates: { type: 'object', propertyNames: DAY, additionalProperties: RATES, description: 'Publishing day → its rates' },
    }),
    FixerFluctuation: object({
      ...SUCCESS,
      fluctuation: { const: true },
      ...RANGE,
      rates: {
        type: 'object',
        propertyNames: { pattern: '^[A-Z]{3}$' },
        additionalProperties: object({
          start_rate: { type: 'number' },
          end_rate: { type: 'number' },
          change: { type: 'number', description: '4 decimal places' },
          change_pct: { type: 'number', description: '4 decimal places' },
        }),
      },
    }),
    FixerConversion: object(
      {
        ...SUCCESS,
        query: object({ from: CODE, to: CODE, amount: { type: 'number' } }),
        info: object({ timestamp: TIMESTAMP, rate: { type: 'number' } }),
        historical: { const: true, description: 'Only with `date`' },
        date: DAY,
        result: { type: 'number', description: 'The rate shown times the amount, exactly' },
      },
      ['historical'],
    ),
    FixerSymbols: object({
      ...SUCCESS,
      symbols: { type: 'object', propertyNames: { pattern: '^[A-Z]{3}$' }, additionalProperties: { type: 'string' } },
    }),
    FixerError: object({
      success: { const: false },
      error: object({ code: { type: 'integer' }, type: { type: 'string' }, info: { type: 'string' } }),
    }),
  },
  securitySchemes: {
    fixerAccessKey: { type: 'apiKey', in: 'query', name: 'access_key', description: "Fixer's access key: FXPIPE_API_TOKEN" },
    fixerApiKey: { type: 'apiKey', in: 'header', name: 'apikey', description: "apilayer's header for the same key" },
  },
};
