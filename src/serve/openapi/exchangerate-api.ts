import { SOURCE_NAMES } from '../../sources/types.js';
import {
  CODE,
  CODE_ASKED,
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
 * ExchangeRate-API v6 (/exchangerate-api/v6/{key}/…) and its keyless open access (/open-er-api/v6/latest/…):
 * src/serve/backup/exchangerate-api.ts, docs/backup.md. Errors are theirs: `{"result": "error", "error-type": …}`.
 */

const V6 = '/exchangerate-api/v6';
const OPEN_ER = '/open-er-api/v6';
const TAG_V6 = 'ExchangeRate-API v6';
const TAG_OPEN_ER = 'open.er-api';

/** The key travels in the path, where OpenAPI has no security scheme: a parameter, the token when one is set. */
const KEY = path(
  'key',
  { type: 'string', minLength: 1 },
  'The API key: FXPIPE_API_TOKEN when it is set (a wrong one is 403 `invalid-key`), any text otherwise',
);
const SOURCE = query(
  'source',
  { type: 'string', enum: [...SOURCE_NAMES] },
  "fxpipe's: the source to answer from; default the preferred one",
);

const error = (schema: string, types: string[], description: string) => ({
  description: `${description}: ${types.map((t) => `\`${t}\``).join(', ')}`,
  schema: { allOf: [ref(schema), { type: 'object', properties: { 'error-type': { enum: types } } }] },
});
const errorsOf = (schema: string, own: Record<number, string[]>) => ({
  ...Object.fromEntries(Object.entries(own).map(([status, types]) => [status, error(schema, types, 'The request cannot be answered')])),
  403: error(schema, ['invalid-key'], 'FXPIPE_API_TOKEN is set and the key is wrong'),
  503: error(schema, ['service-unavailable'], 'The database cannot answer (and, for latest, no last good answer is in force)'),
});

/** security: undefined for v6, whose key is a path parameter. */
const get = (tag: string, summary: string, parameters: Json[], answers: Answers, security?: Json[]): Json =>
  getOperation({ tag, summary, security, parameters, answers });
const v6 = (summary: string, parameters: Json[], answers: Answers) => get(TAG_V6, summary, [KEY, ...parameters], answers);

const pair = (withAmount: boolean) =>
  v6(
    withAmount ? 'An amount converted at the latest rates' : "A pair's latest rate",
    [
      path('base', CODE_ASKED),
      path('target', CODE_ASKED),
      ...(withAmount ? [path('amount', { type: 'string', pattern: '^\\d{1,15}(\\.\\d{1,15})?$', description: 'A positive decimal' })] : []),
      SOURCE,
    ],
    {
      ok: { schema: ref(withAmount ? 'V6Conversion' : 'V6Pair'), description: 'The pair', latest: true },
      errors: errorsOf(
        'V6Error',
        withAmount
          ? { 400: ['malformed-request'], 404: ['unsupported-code', 'no-data-available'] }
          : { 404: ['unsupported-code', 'no-data-available'] },
      ),
    },
  );

const paths: Record<string, Json> = {
  [`${V6}/{key}/latest/{base}`]: v6('The latest rates against base', [path('base', CODE_ASKED), SOURCE], {
    ok: { schema: ref('V6Latest'), description: "The latest publication's rates", latest: true },
    errors: errorsOf('V6Error', { 404: ['unsupported-code', 'no-data-available'] }),
  }),
  [`${V6}/{key}/pair/{base}/{target}`]: pair(false),
  [`${V6}/{key}/pair/{base}/{target}/{amount}`]: pair(true),
  [`${V6}/{key}/history/{base}/{year}/{month}/{day}`]: v6(
    "A day's rates against base",
    [
      path('base', CODE_ASKED),
      path('year', { type: 'string', pattern: '^\\d{4}$' }),
      path('month', { type: 'string', pattern: '^\\d{1,2}$' }),
      path('day', { type: 'string', pattern: '^\\d{1,2}$' }),
      SOURCE,
    ],
    {
      ok: { schema: ref('V6History'), description: "The day's rates (a day without a publication answers the last one before it)" },
      errors: errorsOf('V6Error', { 400: ['malformed-request'], 404: ['unsupported-code', 'no-data-available'] }),
    },
  ),
  [`${V6}/{key}/codes`]: v6('The currencies in force, with their names', [], {
    ok: { schema: ref('V6Codes'), description: 'The codes', latest: true },
    errors: errorsOf('V6Error', {}),
  }),
  [`${OPEN_ER}/latest/{base}`]: get(
    TAG_OPEN_ER,
    'The latest rates against base (keyless at the provider)',
    [path('base', CODE_ASKED), SOURCE],
    {
      ok: { schema: ref('OpenErLatest'), description: "The latest publication's rates", latest: true },
      errors: errorsOf('OpenErError', { 404: ['unsupported-code', 'no-data-available'] }),
    },
    securedBy('bearerToken', 'tokenQuery'),
  ),
};

const LEGAL = { result: { const: 'success' }, documentation: { type: 'string' }, terms_of_use: { type: 'string' } };
const UPDATES = {
  time_last_update_unix: { type: 'integer' },
  time_last_update_utc: { type: 'string' },
  time_next_update_unix: { type: 'integer' },
  time_next_update_utc: { type: 'string' },
};

export const exchangerateApi: OpenApiFamily = {
  tags: [
    { name: TAG_V6, description: 'ExchangeRate-API v6 (v6.exchangerate-api.com/v6/{key}), answered from the stored rates' },
    { name: TAG_OPEN_ER, description: 'open.er-api.com/v6, the keyless access, answered from the stored rates (docs/backup.md)' },
  ],
  paths,
  schemas: {
    V6Latest: object({ ...LEGAL, ...UPDATES, base_code: CODE, conversion_rates: RATES }),
    V6Pair: object({ ...LEGAL, ...UPDATES, base_code: CODE, target_code: CODE, conversion_rate: { type: 'number' } }),
    V6Conversion: object({
      ...LEGAL,
      ...UPDATES,
      base_code: CODE,
      target_code: CODE,
      conversion_rate: { type: 'number' },
      conversion_result: { type: 'number' },
    }),
    V6History: object({
      ...LEGAL,
      year: { type: 'integer' },
      month: { type: 'integer' },
      day: { type: 'integer' },
      base_code: CODE,
      conversion_rates: RATES,
    }),
    V6Codes: object({
      ...LEGAL,
      supported_codes: { type: 'array', items: { type: 'array', prefixItems: [CODE, { type: 'string' }], items: false, minItems: 2 } },
    }),
    V6Error: object(
      {
        result: { const: 'error' },
        documentation: { type: 'string' },
        'terms-of-use': { type: 'string' },
        'error-type': { type: 'string' },
      },
      ['documentation', 'terms-of-use'],
    ),
    OpenErLatest: object({
      ...LEGAL,
      provider: { type: 'string' },
      ...UPDATES,
      time_eol_unix: { type: 'integer' },
      base_code: CODE,
      rates: RATES,
    }),
    OpenErError: object({ result: { const: 'error' }, 'error-type': { type: 'string' } }),
  },
};
