import { ALERT_KINDS } from '../../alerts/kinds.js';
import { SOURCE_NAMES } from '../../sources/types.js';
import { VERDICTS } from '../../verify/check.js';
import { INTERVALS } from '../data/history.js';
import { HISTORY_FORMATS } from '../history-formats.js';
import {
  CODE,
  CODE_ASKED,
  DAY,
  INSTANT,
  nullable,
  object,
  query,
  ref,
  responses,
  securedBy,
  getOperation,
  type Answers,
  type Json,
  type OpenApiFamily,
} from './shared.js';

/** fxpipe's own JSON API (docs/serve.md, "The JSON API"): src/serve/app.ts and src/serve/data/*. */

const TAG = 'api/v1';
/** PostgreSQL's numeric as text: every digit it holds. */
const DECIMAL: Json = { type: 'string', pattern: '^-?\\d+(\\.\\d+)?$', description: 'A decimal as text, every digit PostgreSQL holds' };
const PAIR: Json = {
  type: 'string',
  pattern: '^[A-Za-z]{3}/[A-Za-z]{3}$',
  description: 'BASE/QUOTE, two different codes',
  examples: ['USD/EUR'],
};
/** What p.instant reads (parseInstant, src/calendar/days.ts): a day, or a day and a time with its offset. */
const INSTANT_ASKED: Json = {
  type: 'string',
  pattern: '^\\d{4}-\\d{2}-\\d{2}([T ]\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?(Z|[+-]\\d{2}:?\\d{2}))?$',
  description: 'A day (midnight UTC) or an instant with its offset, years 0001 to 9999',
  examples: ['2024-03-01', '2024-03-01T12:00:00Z'],
};
const SOURCE = { type: 'string', enum: [...SOURCE_NAMES] };

const error = (description: string) => ({ schema: ref('ApiError'), description });
const BAD_PARAMETER = error('A bad parameter: `{"error": "invalid parameter <name>: …", "parameter": "<name>"}`');
const UNAUTHORIZED = error('FXPIPE_API_TOKEN is set and the request carries no token or a wrong one (with `WWW-Authenticate: Bearer`)');
const UNAVAILABLE = error('The database cannot answer (and, for a latest answer, no last good one is in force)');

const get = (summary: string, description: string, parameters: Json[], answers: Answers): Json =>
  getOperation({
    tag: TAG,
    summary,
    description,
    security: securedBy('bearerToken', 'tokenCookie'),
    parameters,
    answers,
    always: { 401: UNAUTHORIZED, 503: UNAVAILABLE },
  });
const limit = (name: string, max: number, fallback: number) =>
  query(name, { type: 'string', pattern: '^\\d+$', default: String(fallback), description: `A whole number from 1 to ${max}` });

/** A point of /api/v1/history, its fields in the order CSV writes them. */
const HISTORY_POINT: Record<string, Json> = {
  date: DAY,
  open: DECIMAL,
  high: nullable(DECIMAL),
  low: nullable(DECIMAL),
  close: DECIMAL,
  observations: { type: 'integer' },
  carried: { type: 'boolean' },
  tier: { type: 'string', enum: ['hot', 'cold'] },
};

const paths: Record<string, Json> = {
  '/api/v1/latest': get(
    'The latest rate of every currency against base',
    "The preferred source's own rates for USD, cross rates for any other base; only rates in force.",
    [query('base', { ...CODE_ASKED, default: 'USD' })],
    {
      ok: { schema: ref('LatestRates'), description: 'The rates in force', latest: true },
      errors: { 400: BAD_PARAMETER, 404: error('The base has no rate in force now') },
    },
  ),
  '/api/v1/convert': get(
    'An amount converted, now or at an instant',
    "Exactly api.convert's answer.",
    [
      query('from', CODE_ASKED, undefined, true),
      query('to', CODE_ASKED, undefined, true),
      query('amount', { type: 'string', pattern: '^-?\\d{1,20}(\\.\\d{1,20})?$', default: '1' }),
      query('at', INSTANT_ASKED),
    ],
    {
      ok: { schema: ref('Conversion'), description: 'The conversion' },
      errors: { 400: BAD_PARAMETER, 404: error('A currency has no rate in force at `at` (or now)') },
    },
  ),
  '/api/v1/consensus': get(
    'The consensus of the sources for a pair',
    'api.consensus_rate: the median of the sources that have the pair in force.',
    [query('base', CODE_ASKED, undefined, true), query('quote', CODE_ASKED, undefined, true), query('at', INSTANT_ASKED)],
    {
      ok: { schema: ref('Consensus'), description: 'The consensus' },
      errors: { 400: BAD_PARAMETER, 404: error('No source has the pair in force then') },
    },
  ),
  '/api/v1/verify': {
    post: {
      tags: [TAG],
      summary: 'Check production rates against the consensus, and store the check',
      description:
        'The body is what `fxpipe verify --file` reads (CSV with a header `base,quote,rate[,at]`, a JSON array, ' +
        'or JSON lines), at most 5 MiB.',
      security: securedBy('bearerToken', 'tokenCookie'),
      parameters: [
        query('tolerance', { type: 'string', pattern: '^\\d{1,6}(\\.\\d{1,12})?$' }, 'Percent; default FXPIPE_PRODUCTION_TOLERANCE_PCT'),
        query('label', { type: 'string', maxLength: 200 }),
      ],
      requestBody: {
        required: true,
        content: {
          'text/csv': { schema: { type: 'string' } },
          'application/json': { schema: { type: 'array' } },
          'application/x-ndjson': { schema: { type: 'string' } },
        },
      },
      responses: responses({
        ok: { schema: ref('VerifyResult'), description: 'The check, whatever its verdicts' },
        revalidates: false,
        errors: {
          400: error('A row it cannot read (named by its line), or a bad tolerance or label; nothing is stored'),
          401: UNAUTHORIZED,
          408: error('The body did not all arrive within 30 s; nothing is stored'),
          413: error('The body is larger than 5 MiB; nothing is stored'),
          503: {
            ...error(
              'Every place for a check is taken (with Retry-After: 10), the check outlasted FXPIPE_VERIFY_TIMEOUT_MS, ' +
                'or the database cannot answer (with Retry-After: 5)',
            ),
            retryAfter: false,
          },
        },
      }),
    },
  },
  '/api/v1/production-checks': get(
    'The last production checks, newest first',
    'Each with the first 10 rows that were not ok.',
    [limit('limit', 100, 10)],
    { ok: { schema: ref('ProductionChecks'), description: 'The checks' }, errors: { 400: BAD_PARAMETER } },
  ),
  '/api/v1/history': get(
    "A pair's daily, weekly or monthly rates",
    'From api.daily_rates, hot and archived months alike. JSON, or the points alone as CSV or NDJSON (streamed): by `format`, ' +
      'else by `Accept` (`text/csv`, `application/x-ndjson`; anything else JSON).',
    [
      query('pair', PAIR, undefined, true),
      query('from', DAY, 'Default: 90 days before `to`'),
      query('to', DAY, 'Default: today (UTC)'),
      query('interval', { type: 'string', enum: [...INTERVALS], default: 'day' }),
      query('source', SOURCE, "Default: each leg's preferred source"),
      query('format', { type: 'string', enum: [...HISTORY_FORMATS] }, "The answer's format, before `Accept`; another is a 400"),
    ],
    {
      ok: {
        schema: ref('History'),
        description: 'The points',
        others: {
          'text/csv': {
            type: 'string',
            pattern: `^${Object.keys(HISTORY_POINT).join(',')}\\r\\n`,
            description:
              "A header line naming the columns (a point's fields, in their order), then one point a line (RFC 4180, CRLF); " +
              'a null as an empty field',
          },
          'application/x-ndjson': {
            type: 'string',
            pattern: '^(\\{[^\\n]*\\}\\n)*$',
            description: "One point (as in the JSON answer's `points`) a line",
          },
        },
      },
      errors: { 400: BAD_PARAMETER },
    },
  ),
  '/api/v1/history-range': get(
    'The first and last day the history of a pair has',
    'Null days when there are none.',
    [query('pair', PAIR, undefined, true)],
    { ok: { schema: ref('HistoryRange'), description: 'The range' }, errors: { 400: BAD_PARAMETER } },
  ),
  '/api/v1/runs': get('The last pipeline runs', "The fields of `status --json`'s `runs[]`.", [limit('limit', 1000, 20)], {
    ok: { schema: ref('Runs'), description: 'The runs' },
    errors: { 400: BAD_PARAMETER },
  }),
  '/api/v1/freshness': get('How fresh each source is', "`status --json`'s `freshness[]`.", [], {
    ok: { schema: ref('Freshness'), description: 'Each source' },
    errors: {},
  }),
  '/api/v1/currencies': get('The codes with a latest rate, and USD', '', [], {
    ok: { schema: ref('Currencies'), description: 'The codes' },
    errors: {},
  }),
  '/api/v1/comparison': get(
    "Each source's value of a pair's USD legs",
    'From api.source_comparison.',
    [query('pair', PAIR, undefined, true)],
    { ok: { schema: ref('Comparison'), description: 'The legs' }, errors: { 400: BAD_PARAMETER } },
  ),
  '/api/v1/rejected': get('Values quarantined in the last hours', 'At most 500, newest first.', [limit('hours', 24 * 366, 24)], {
    ok: { schema: ref('Rejected'), description: 'The rejects' },
    errors: { 400: BAD_PARAMETER },
  }),
  '/api/v1/archive': get('What is archived to Parquet', '', [], { ok: { schema: ref('Archive'), description: 'The archive' }, errors: {} }),
};

const checkedRate = object({
  checkRowId: { type: 'string' },
  line: { type: 'integer' },
  base: CODE,
  quote: CODE,
  rate: DECIMAL,
  at: INSTANT,
  consensusRate: nullable(DECIMAL),
  deviationPct: nullable(DECIMAL),
  verdict: { type: 'string', enum: [...VERDICTS] },
  sourceCount: nullable({ type: 'integer' }),
  sources: nullable({ type: 'array', items: { type: 'string' } }),
  excluded: nullable({ type: 'array' }),
});

const schemas: Record<string, Json> = {
  ApiError: object({ error: { type: 'string' }, parameter: { type: 'string', description: 'The parameter at fault' } }, ['parameter']),
  LatestRates: object({
    base: CODE,
    rates: { type: 'array', items: object({ quote: CODE, rate: DECIMAL, asOf: nullable(INSTANT), source: nullable({ type: 'string' }) }) },
  }),
  Conversion: object({
    amount: DECIMAL,
    from: CODE,
    to: CODE,
    rate: DECIMAL,
    converted: DECIMAL,
    asOf: nullable(INSTANT),
    at: nullable(INSTANT),
    fromSource: nullable({ type: 'string' }),
    toSource: nullable({ type: 'string' }),
    archived: { type: 'boolean', description: "A rate came from an archived month's Parquet file" },
  }),
  Consensus: object({
    base: CODE,
    quote: CODE,
    rate: DECIMAL,
    asOf: INSTANT,
    at: nullable(INSTANT),
    sourceCount: { type: 'integer' },
    sources: { type: 'array', items: { type: 'string' } },
    spreadPct: nullable(DECIMAL),
    excluded: { type: 'array', description: 'The outliers left out' },
  }),
  VerifyResult: object({
    checkId: { type: 'string', format: 'uuid' },
    label: nullable({ type: 'string' }),
    checkedAt: INSTANT,
    tolerancePct: DECIMAL,
    counts: object(Object.fromEntries(VERDICTS.map((v) => [v, { type: 'integer' }]))),
    total: { type: 'integer' },
    rows: { type: 'array', items: checkedRate },
    alerts: {
      type: 'array',
      items: object(
        {
          kind: { type: 'string', enum: [...ALERT_KINDS] },
          source: nullable({ type: 'string' }),
          delivered: { type: 'boolean' },
          attempts: { type: 'integer' },
          error: { type: 'string' },
        },
        ['error'],
      ),
    },
  }),
  ProductionChecks: object({
    checks: {
      type: 'array',
      items: object({
        checkId: { type: 'string', format: 'uuid' },
        label: nullable({ type: 'string' }),
        checkedAt: INSTANT,
        tolerancePct: DECIMAL,
        rows: { type: 'integer' },
        ok: { type: 'integer' },
        deviates: { type: 'integer' },
        noRate: { type: 'integer' },
        notOk: {
          type: 'array',
          maxItems: 10,
          items: object({
            line: { type: 'integer' },
            base: CODE,
            quote: CODE,
            rate: DECIMAL,
            consensusRate: nullable(DECIMAL),
            deviationPct: nullable(DECIMAL),
            verdict: { type: 'string', enum: [...VERDICTS] },
          }),
        },
      }),
    },
  }),
  History: object({
    pair: { type: 'string', pattern: '^[A-Z]{3}/[A-Z]{3}$' },
    from: DAY,
    to: DAY,
    interval: { type: 'string', enum: [...INTERVALS] },
    sources: {
      type: 'object',
      propertyNames: { pattern: '^[A-Z]{3}$' },
      additionalProperties: { type: 'string' },
      description: 'The source of each USD leg',
    },
    points: { type: 'array', items: object(HISTORY_POINT) },
  }),
  HistoryRange: object({
    pair: { type: 'string', pattern: '^[A-Z]{3}/[A-Z]{3}$' },
    sources: { type: 'object', propertyNames: { pattern: '^[A-Z]{3}$' }, additionalProperties: { type: 'string' } },
    firstDay: nullable(DAY),
    lastDay: nullable(DAY),
  }),
  Runs: object({
    runs: {
      type: 'array',
      items: object({
        runId: { type: 'string' },
        kind: { type: 'string', enum: ['scheduled', 'manual', 'backfill', 'reprocess', 'demo'] },
        startedAt: INSTANT,
        finishedAt: nullable(INSTANT),
        status: { type: 'string', enum: ['loaded', 'unchanged', 'failed', 'running', 'interrupted'] },
        sourceUsed: nullable({ type: 'string' }),
        failover: { type: 'boolean' },
        counts: object({
          extracted: { type: 'integer' },
          loaded: { type: 'integer' },
          unchanged: { type: 'integer' },
          rejected: { type: 'integer' },
        }),
        error: nullable({ type: 'string' }),
      }),
    },
  }),
  SourceFreshness: object({
    source: SOURCE,
    configured: { type: 'boolean' },
    cadence: { type: 'string', enum: ['daily', 'ecb_business_day'] },
    asOf: nullable(INSTANT),
    ageHours: nullable({ type: 'number' }),
    expectedDay: nullable(DAY),
    state: { type: 'string', enum: ['ok', 'late', 'stale', 'future', 'no_data'] },
  }),
  Freshness: object({ freshness: { type: 'array', items: ref('SourceFreshness') } }),
  Currencies: object({
    currencies: { type: 'array', items: object({ code: CODE, name: nullable({ type: 'string' }), source: nullable({ type: 'string' }) }) },
  }),
  Comparison: object({
    pair: { type: 'string', pattern: '^[A-Z]{3}/[A-Z]{3}$' },
    legs: {
      type: 'array',
      items: object({
        base: { const: 'USD' },
        quote: CODE,
        sources: {
          type: 'array',
          items: object({
            source: { type: 'string' },
            tier: { type: 'string', description: "The source's rank: primary, fallback, reference" },
            rate: DECIMAL,
            asOf: INSTANT,
            referenceRate: nullable(DECIMAL),
            sourceCount: { type: 'integer', description: 'How many sources have the leg in force' },
            deviationPct: nullable(DECIMAL),
            flags: { type: 'array', items: { type: 'string' } },
          }),
        },
      }),
    },
  }),
  Rejected: object({
    hours: { type: 'integer' },
    rejected: {
      type: 'array',
      maxItems: 500,
      items: object({
        rejectedAt: INSTANT,
        source: { type: 'string' },
        base: nullable({ type: 'string' }),
        quote: nullable({ type: 'string' }),
        rawValue: nullable({ type: 'string' }),
        reason: { type: 'string' },
        detail: nullable({ type: 'string' }),
      }),
    },
  }),
  Archive: object({
    hot: object({ oldestDay: nullable(DAY), newestDay: nullable(DAY) }),
    archived: object({ months: { type: 'integer' }, rows: { type: 'integer' }, bytes: { type: 'integer' } }),
    months: {
      type: 'array',
      items: object({
        month: { type: 'string', pattern: '^\\d{4}-\\d{2}$' },
        state: { type: 'string' },
        rows: { type: 'integer' },
        bytes: { type: 'integer' },
        archivedAt: nullable(INSTANT),
        restoredAt: nullable(INSTANT),
      }),
    },
  }),
};

export const apiV1: OpenApiFamily = {
  tags: [{ name: TAG, description: "fxpipe's own JSON API: rates and amounts as strings holding PostgreSQL's exact numeric text" }],
  paths,
  schemas,
};
