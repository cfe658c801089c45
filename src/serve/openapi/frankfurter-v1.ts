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
 * Frankfurter v1 (src/serve/backup/frankfurter.ts, docs/backup.md), mounted at /frankfurter/v1 and at /frankfurter
 * (the exchangeratesapi.io paths its older clients call). Errors are Frankfurter's: `{"message": …}`.
 */

export const FRANKFURTER_V1_MOUNTS = ['/frankfurter/v1', '/frankfurter'];
const TAG = 'Frankfurter v1';

const AMOUNT: Json = { type: 'string', pattern: '^\\d{1,15}(\\.\\d{1,15})?$', default: '1', description: 'A positive decimal' };
const SYMBOLS: Json = {
  type: 'string',
  pattern: '^\\s*[A-Za-z]{3}\\s*(,\\s*[A-Za-z]{3}\\s*)*$',
  description: 'Comma-separated codes; default every one',
};
const ASKED = [
  query('base', { ...CODE_ASKED, default: 'EUR' }),
  query('from', CODE_ASKED, 'Another name of base'),
  query('symbols', SYMBOLS),
  query('to', SYMBOLS, 'Another name of symbols'),
  query('amount', AMOUNT),
  query('source', { type: 'string', enum: [...SOURCE_NAMES] }, "fxpipe's: the source to answer from; default the preferred one"),
];

const error = (description: string) => ({ schema: ref('FrankfurterError'), description });
const NOT_FOUND = error('`not found`: an unknown currency, a date with no rates, a range that ends before it starts');
const UNPROCESSABLE = error('`invalid date` (a YYYY-MM-DD the calendar has not) or `amount must be a positive number`');

const ALWAYS = {
  401: error('FXPIPE_API_TOKEN is set and the request carries no token or a wrong one'),
  503: error('The database cannot answer (and, for latest, no last good answer is in force)'),
};
const get = (summary: string, parameters: Json[], answers: Answers): Json =>
  getOperation({ tag: TAG, summary, security: securedBy('bearerToken', 'tokenQuery'), parameters, answers, always: ALWAYS });

function pathsAt(mount: string): Record<string, Json> {
  return {
    [`${mount}/latest`]: get('The latest rates', ASKED, {
      ok: { schema: ref('FrankfurterDay'), description: "The latest publication's rates", type: 'application/json', latest: true },
      errors: { 404: NOT_FOUND, 422: UNPROCESSABLE },
    }),
    [`${mount}/currencies`]: get('The currencies in force, with their names', [], {
      ok: { schema: ref('FrankfurterCurrencies'), description: 'Code → name', latest: true },
      errors: {},
    }),
    [`${mount}/history`]: get(
      "A time series (exchangeratesapi.io's)",
      [query('start_at', DAY, undefined, true), query('end_at', DAY, undefined, true), ...ASKED],
      {
        ok: { schema: ref('FrankfurterHistory'), description: 'The publishing days in the range' },
        errors: { 404: NOT_FOUND, 422: UNPROCESSABLE },
      },
    ),
    [`${mount}/{dates}`]: get(
      "A day's rates, or a time series",
      [
        path(
          'dates',
          { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}(\\.\\.(\\d{4}-\\d{2}-\\d{2})?)?$' },
          '`YYYY-MM-DD` (a day without a publication answers the last one before it, with its own date), ' +
            '`START..END`, or `START..` (up to today)',
        ),
        ...ASKED,
      ],
      {
        ok: {
          schema: { oneOf: [ref('FrankfurterDay'), ref('FrankfurterSeries')] },
          description: "The day's rates, or the publishing days in the range",
        },
        errors: { 404: NOT_FOUND, 422: UNPROCESSABLE },
      },
    ),
  };
}

const AMOUNT_ANSWERED: Json = { type: 'number', description: 'Written as a float: 1.0, 100.0' };
const DATED_RATES: Json = { type: 'object', propertyNames: DAY, additionalProperties: RATES };

export const frankfurterV1: OpenApiFamily = {
  tags: [{ name: TAG, description: 'Frankfurter v1 (api.frankfurter.dev/v1), answered from the stored rates (docs/backup.md)' }],
  paths: Object.assign({}, ...FRANKFURTER_V1_MOUNTS.map(pathsAt)) as Record<string, Json>,
  schemas: {
    FrankfurterDay: object({ amount: AMOUNT_ANSWERED, base: CODE, date: DAY, rates: RATES }),
    FrankfurterSeries: object({ amount: AMOUNT_ANSWERED, base: CODE, start_date: DAY, end_date: DAY, rates: DATED_RATES }),
    FrankfurterHistory: object({ amount: AMOUNT_ANSWERED, base: CODE, start_at: DAY, end_at: DAY, rates: DATED_RATES }),
    FrankfurterCurrencies: { type: 'object', propertyNames: { pattern: '^[A-Z]{3}$' }, additionalProperties: { type: 'string' } },
    FrankfurterError: object({ message: { type: 'string' } }),
  },
};
