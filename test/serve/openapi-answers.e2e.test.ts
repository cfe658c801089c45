import path from 'node:path';
import { dereference } from '@readme/openapi-parser';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../src/log.js';
import { createApp } from '../../src/serve/app.js';
import { openApiDocument } from '../../src/serve/openapi/document.js';
import { openDb } from '../../src/warehouse/connection.js';
import type { Db } from '../../src/warehouse/db.js';
import { createTestDatabase, scratchDir } from '../helpers/database.js';
import { backupWarehouse, type BackupWarehouse } from './backup-support.js';

/**
 * Every operation GET /openapi.json describes, asked for real and its answer checked against the description: for
 * each path, method and documented status, at least one request (EXAMPLES) that the in-process app answers with that
 * status, its Content-Type the documented one, its body valid against the documented schema (Ajv's JSON Schema 2020-12,
 * OpenAPI 3.1's dialect; every object schema closes its properties, so an answer that gains, loses or retypes a field
 * fails; a CSV or NDJSON body as its text, checked by its schema's pattern) and its required headers there; a 200 that
 * is a refusal (Fixer's errors) only where the example names its error.type. 304s are asked with the 200's own ETag.
 * The warehouse holds the real provider files of test/fixtures (backup-support.ts); 401/403 come from an app with a
 * token, 503s from one whose database was dropped. The test fails for an operation or status with no request here,
 * and for a route the app mounts that the document does not describe.
 */

const TOKEN = 'openapi-token-7f3a9c21d4';
type AppName = 'open' | 'guarded' | 'down';
interface Example {
  status: number;
  url: string;
  app?: AppName;
  init?: RequestInit;
  /** The media type it must answer in, where a route has several. */
  type?: string;
  /** A refusal its family answers with this status (Fixer's, with 200): its error.type; its parameters may be anything. */
  refusal?: string;
}

/** A code api.currencies knows but no source has in force: chosen in beforeAll. */
let notInForce = '';
const bearer = { headers: { authorization: `Bearer ${TOKEN}` } };
const post = (body: BodyInit, init: RequestInit = {}): RequestInit => ({
  method: 'POST',
  body,
  ...init,
  headers: { 'content-type': 'text/csv', ...init.headers },
});
const CHECK = 'base,quote,rate\nUSD,EUR,0.9\nUSD,JPY,1\n';
const JUNE = '/api/v1/history?pair=EUR/USD&from=2024-06-01&to=2024-06-30';
/** Every operation's status: at least its 401 (or 403) from the app with a token, its 503 from the one without a database. */
const guarded = (status: number, url: string, init?: RequestInit): Example => ({ status, url, app: 'guarded', ...(init ? { init } : {}) });
const down = (url: string, init?: RequestInit): Example => ({ status: 503, url, app: 'down', ...(init ? { init } : {}) });
const api = (route: string, ok: string[], bad: string[] = []): Example[] => [
  ...ok.map((query) => ({ status: 200, url: `/api/v1/${route}${query}` })),
  ...bad.map((query) => ({ status: 400, url: `/api/v1/${route}${query}` })),
  guarded(401, `/api/v1/${route}${ok[0]}`),
  guarded(200, `/api/v1/${route}${ok[0]}`, bearer),
  down(`/api/v1/${route}${ok[0]}`),
];

function examples(): Record<string, Example[]> {
  const table: Record<string, Example[]> = {
    'GET /healthz': [{ status: 200, url: '/healthz' }, guarded(200, '/healthz'), down('/healthz')],
    'GET /openapi.json': [{ status: 200, url: '/openapi.json' }, guarded(200, '/openapi.json')],
    'GET /api/v1/latest': [
      ...api('latest', ['?base=USD', '?base=eur', ''], ['?base=EURO', '?base=ZZZ']),
      { status: 404, url: `/api/v1/latest?base=${notInForce}` },
      guarded(200, '/api/v1/latest', { headers: { cookie: `fxpipe_token=${TOKEN}` } }),
    ],
    'GET /api/v1/convert': [
      ...api(
        'convert',
        ['?from=EUR&to=JPY&amount=100', '?from=USD&to=GBP&at=2024-06-03T12:00:00Z', '?from=usd&to=eur&at=2024-06-03'],
        ['?from=EUR&to=J1Y', '?to=JPY'],
      ),
      { status: 404, url: '/api/v1/convert?from=EUR&to=JPY&at=2000-01-01' },
    ],
    'GET /api/v1/consensus': [
      ...api('consensus', ['?base=USD&quote=EUR', '?base=EUR&quote=USD&at=2024-06-03'], ['?base=USD&quote=EURO']),
      { status: 404, url: '/api/v1/consensus?base=USD&quote=EUR&at=2000-01-01' },
    ],
    'POST /api/v1/verify': [
      { status: 200, url: '/api/v1/verify?tolerance=0.5&label=openapi', init: post(CHECK) },
      { status: 400, url: '/api/v1/verify?tolerance=abc', init: post(CHECK) },
      { status: 400, url: '/api/v1/verify', init: post('base,quote,rate\nUSD,EUR,\n') },
      guarded(401, '/api/v1/verify', post(CHECK)),
      guarded(200, '/api/v1/verify', post(CHECK, bearer)),
      { status: 413, url: '/api/v1/verify', init: post(`${CHECK}${'#'.repeat(5 * 1024 * 1024)}`) },
      down('/api/v1/verify', post(CHECK)),
      // 408: asked by itself below (the body never ends, and the clock is moved on 30 s).
    ],
    'GET /api/v1/production-checks': api('production-checks', ['?limit=5', ''], ['?limit=0']),
    'GET /api/v1/history': [
      ...api(
        'history',
        [
          '?pair=USD/EUR&from=2024-01-01&to=2024-03-31',
          '?pair=EUR/JPY&from=2024-01-01&to=2024-12-31&interval=month&source=ecb',
          '?pair=JPY/USD&from=2024-05-01&to=2024-05-10',
          '?pair=EUR/GBP&from=2024-01-01&to=2024-03-31&interval=week',
        ],
        ['?pair=USD/EUR&format=xml', '?pair=USDEUR', '?pair=USD/EUR&source=bank'],
      ),
      // CSV and NDJSON by format= and by Accept (JSON for a type it has not; format= before Accept).
      { status: 200, url: `${JUNE}&format=csv`, type: 'text/csv' },
      {
        status: 200,
        url: '/api/v1/history?pair=USD/GBP&from=2024-01-01&to=2024-03-31&interval=week&format=ndjson',
        type: 'application/x-ndjson',
      },
      { status: 200, url: `${JUNE}&interval=month&format=json`, type: 'application/json' },
      ...['text/csv', 'application/x-ndjson'].map((type) => ({ status: 200, url: JUNE, init: { headers: { accept: type } }, type })),
      { status: 200, url: JUNE, init: { headers: { accept: 'application/xml' } }, type: 'application/json' },
      { status: 200, url: `${JUNE}&format=json`, init: { headers: { accept: 'text/csv' } }, type: 'application/json' },
      guarded(401, `${JUNE}&format=csv`),
      guarded(200, `${JUNE}&format=csv`, bearer),
      down(`${JUNE}&format=ndjson`),
    ],
    'GET /api/v1/history-range': api('history-range', ['?pair=USD/EUR', '?pair=EUR/JPY'], ['?pair=EUR/EUR']),
    'GET /api/v1/runs': api('runs', ['?limit=5'], ['?limit=0']),
    'GET /api/v1/freshness': api('freshness', ['']),
    'GET /api/v1/currencies': api('currencies', ['']),
    'GET /api/v1/comparison': api('comparison', ['?pair=EUR/JPY', '?pair=USD/GBP'], ['?pair=EUR']),
    'GET /api/v1/rejected': api('rejected', ['?hours=24', ''], ['?hours=0']),
    'GET /api/v1/archive': api('archive', ['']),
  };
  for (const mount of ['/frankfurter/v1', '/frankfurter']) {
    const f = (route: string, ok: string[], notFound: string[], unprocessable: string[], extra: Example[] = []): Example[] => [
      ...ok.map((rest) => ({ status: 200, url: `${mount}/${route}${rest}` })),
      ...notFound.map((rest) => ({ status: 404, url: `${mount}/${route}${rest}` })),
      ...unprocessable.map((rest) => ({ status: 422, url: `${mount}/${route}${rest}` })),
      guarded(401, `${mount}/${route}${ok[0]}`),
      guarded(401, `${mount}/${route}${ok[0]}${ok[0]!.includes('?') ? '&' : '?'}token=wrong`),
      down(`${mount}/${route}${ok[0]}`),
      ...extra,
    ];
    Object.assign(table, {
      [`GET ${mount}/latest`]: f(
        'latest',
        ['?base=USD&symbols=EUR,GBP', '', '?from=USD&to=JPY&amount=100&source=ecb'],
        ['?base=ZZZ'],
        ['?amount=0'],
        [guarded(200, `${mount}/latest?token=${TOKEN}`)],
      ),
      [`GET ${mount}/currencies`]: f('currencies', [''], [], [], [guarded(200, `${mount}/currencies`, bearer)]),
      [`GET ${mount}/history`]: f(
        'history',
        ['?start_at=2024-01-02&end_at=2024-01-10&base=USD&symbols=EUR'],
        ['?start_at=2024-03-01&end_at=2024-01-01'],
        ['?start_at=2024-02-30&end_at=2024-03-01'],
      ),
      [`GET ${mount}/{dates}`]: f(
        '',
        ['2024-01-09?base=USD', '2024-01-02..2024-01-10?symbols=USD', '2025-05-01..', '2024-12-24?amount=12.5'],
        ['1998-12-31', '2024-01-09?symbols=EUR,ZZZ'],
        ['2025-13-01', '2024-01-09..2025-13-01'],
      ),
    });
  }
  {
    // Frankfurter v2 (src/serve/openapi/frankfurter-v2.ts): errors `{status, message}`.
    const m = '/frankfurter/v2';
    const v2 = (route: string, ok: string[], errors: Record<number, string[]> = {}, extra: Example[] = []): Example[] => [
      ...ok.map((rest) => ({ status: 200, url: `${m}${route}${rest}` })),
      ...Object.entries(errors).flatMap(([status, rests]) => rests.map((rest) => ({ status: Number(status), url: `${m}${route}${rest}` }))),
      guarded(401, `${m}${route}${ok[0]}`),
      down(`${m}${route}${ok[0]}`),
      ...extra,
    ];
    Object.assign(table, {
      [`GET ${m}`]: [{ status: 200, url: m }, guarded(401, m), guarded(200, m, bearer)],
      [`GET ${m}/openapi.json`]: [{ status: 200, url: `${m}/openapi.json` }, guarded(200, `${m}/openapi.json`)],
      [`GET ${m}/rates`]: v2(
        '/rates',
        [
          '?date=2024-06-07&quotes=USD,GBP',
          '?from=2024-06-03&to=2024-06-07&base=USD&providers=ECB',
          '?from=2024-03-01&to=2024-04-30&group=month&expand=providers',
          '?base=USD&quotes=EUR',
        ],
        { 422: ['?provider=ecb', '?date=2024-02-30', '?base=ZZZ'] },
        [guarded(200, `${m}/rates?token=${TOKEN}&date=2024-06-07&quotes=USD`)],
      ),
      [`GET ${m}/rates.csv`]: v2('/rates.csv', ['?date=2024-06-07&quotes=USD', '?from=2024-06-03&to=2024-06-07&expand=providers'], {
        422: ['?group=day'],
      }),
      [`GET ${m}/rate/{base}/{quote}`]: v2('/rate/', ['EUR/USD?date=2024-06-07&providers=ECB', 'usd/usd'], {
        404: ['EUR/USD?date=1901-01-01'],
        422: ['EUR/XYZ'],
      }),
      [`GET ${m}/currencies`]: v2('/currencies', ['?scope=all', '', '?providers=ecb']),
      [`GET ${m}/currency/{code}`]: v2('/currency/', ['jpy'], { 404: ['xyz'] }),
      [`GET ${m}/providers`]: v2('/providers', ['']),
    });
  }
  for (const mount of ['/openexchangerates/api', '/api']) {
    const o = (route: string, ok: string[], bad: string[], extra: Example[] = []): Example[] => [
      ...ok.map((rest) => ({ status: 200, url: `${mount}/${route}${rest}` })),
      ...bad.map((rest) => ({ status: 400, url: `${mount}/${route}${rest}` })),
      down(`${mount}/${route}${ok[0]}`),
      ...extra,
    ];
    const appId = (route: string, ok: string) => [
      guarded(401, `${mount}/${route}${ok}`),
      guarded(401, `${mount}/${route}${ok}${ok.includes('?') ? '&' : '?'}app_id=wrong`),
      guarded(200, `${mount}/${route}${ok}${ok.includes('?') ? '&' : '?'}app_id=${TOKEN}`),
      guarded(200, `${mount}/${route}${ok}`, { headers: { authorization: `Token ${TOKEN}` } }),
    ];
    Object.assign(table, {
      [`GET ${mount}/latest.json`]: o(
        'latest.json',
        ['?symbols=EUR,GBP', '', '?base=EUR&source=ecb'],
        ['?base=ZZZ', '?source=frankfurter'],
        appId('latest.json', ''),
      ),
      [`GET ${mount}/historical/{date}.json`]: o(
        'historical/',
        ['2024-01-09.json', '2024-12-24.json?base=GBP&symbols=EUR'],
        ['2025-13-01.json', '1999-01-01.json', '2024-01-09.json?base=ZZZ'],
        appId('historical/', '2024-01-09.json'),
      ),
      [`GET ${mount}/time-series.json`]: o(
        'time-series.json',
        ['?start=2024-01-02&end=2024-01-10&symbols=EUR'],
        ['?start=2024-01-10&end=2024-01-02', '?start=2024-01-02'],
        appId('time-series.json', '?start=2024-01-02&end=2024-01-03'),
      ),
      [`GET ${mount}/convert/{value}/{from}/{to}`]: o(
        'convert/',
        ['100/USD/EUR', '12.5/eur/jpy'],
        ['0/USD/EUR', '1/USD/ZZZ'],
        appId('convert/', '1/USD/EUR'),
      ),
      [`GET ${mount}/currencies.json`]: o('currencies.json', [''], [], [guarded(200, `${mount}/currencies.json`)]),
    });
  }
  const v6 = '/exchangerate-api/v6';
  const key = (route: string, ok: string[], statuses: Record<number, string[]>): Example[] => [
    ...ok.map((rest) => ({ status: 200, url: `${v6}/k/${route}${rest}` })),
    ...Object.entries(statuses).flatMap(([status, rests]) =>
      rests.map((rest) => ({ status: Number(status), url: `${v6}/k/${route}${rest}` })),
    ),
    guarded(403, `${v6}/wrong/${route}${ok[0]}`),
    guarded(200, `${v6}/${TOKEN}/${route}${ok[0]}`),
    down(`${v6}/k/${route}${ok[0]}`),
  ];
  Object.assign(table, {
    [`GET ${v6}/{key}/latest/{base}`]: key('latest/', ['USD', 'eur'], { 404: ['ZZZ', 'USD?source=frankfurter'] }),
    [`GET ${v6}/{key}/pair/{base}/{target}`]: key('pair/', ['USD/EUR', 'EUR/JPY'], { 404: ['USD/ZZZ'] }),
    [`GET ${v6}/{key}/pair/{base}/{target}/{amount}`]: key('pair/', ['EUR/JPY/100', 'USD/EUR/12.5'], {
      400: ['EUR/JPY/0'],
      404: ['ZZZ/JPY/1'],
    }),
    [`GET ${v6}/{key}/history/{base}/{year}/{month}/{day}`]: key('history/', ['USD/2024/1/9', 'EUR/2024/12/24'], {
      400: ['USD/2024/13/1'],
      404: ['USD/1999/01/01', 'ZZZ/2024/1/9'],
    }),
    [`GET ${v6}/{key}/codes`]: key('codes', [''], {}),
    'GET /open-er-api/v6/latest/{base}': [
      { status: 200, url: '/open-er-api/v6/latest/USD' },
      { status: 200, url: '/open-er-api/v6/latest/gbp' },
      { status: 404, url: '/open-er-api/v6/latest/ZZZ' },
      { status: 404, url: '/open-er-api/v6/latest/USD?source=frankfurter' },
      guarded(403, '/open-er-api/v6/latest/USD'),
      guarded(200, '/open-er-api/v6/latest/USD', bearer),
      guarded(200, `/open-er-api/v6/latest/USD?token=${TOKEN}`),
      down('/open-er-api/v6/latest/USD'),
    ],
  });
  {
    // Fixer (src/serve/openapi/fixer.ts): its refusals are 200s, each asked for by the error.type it must carry.
    const fx = (route: string, ok: string[], refused: Record<string, string[]>, key = ok[0]!): Example[] => {
      const keyed = (value: string) => `/fixer/${route}${key}${key.includes('?') ? '&' : '?'}access_key=${value}`;
      return [
        ...ok.map((rest) => ({ status: 200, url: `/fixer/${route}${rest}` })),
        ...Object.entries(refused).flatMap(([refusal, rests]) =>
          rests.map((rest) => ({ status: 200, url: `/fixer/${route}${rest}`, refusal })),
        ),
        { ...guarded(200, `/fixer/${route}${key}`), refusal: 'missing_access_key' },
        { ...guarded(200, keyed('wrong')), refusal: 'invalid_access_key' },
        guarded(200, keyed(TOKEN)),
        guarded(200, `/fixer/${route}${key}`, { headers: { apikey: TOKEN } }),
        down(`/fixer/${route}${key}`),
      ];
    };
    const range = '?start_date=2024-03-27&end_date=2024-04-03';
    const timeframe = {
      invalid_base_currency: [`${range}&base=ZZZ`],
      invalid_currency_codes: [`${range}&symbols=USD,DOLLARS`],
      no_rates_available: ['?start_date=2010-01-01&end_date=2010-02-01'],
      no_timeframe_supplied: [''],
      invalid_start_date: ['?start_date=yyyy-mm-dd&end_date=2024-03-11'],
      invalid_end_date: ['?start_date=2024-03-10'],
      invalid_time_frame: ['?start_date=2024-03-11&end_date=2024-03-10'],
      time_frame_too_long: ['?start_date=2024-01-01&end_date=2025-01-01'],
    };
    Object.assign(table, {
      'GET /fixer/latest': fx('latest', ['?base=USD&symbols=GBP,JPY,EUR', '', '?source=ecb'], {
        invalid_base_currency: ['?base=EURO'],
        invalid_currency_codes: ['?symbols=USD,ZZZ'],
        no_rates_available: ['?source=frankfurter'],
      }),
      'GET /fixer/{date}': fx(
        '',
        ['2024-03-28?base=GBP&symbols=CHF,USD', '2024-03-30'],
        {
          invalid_date: ['2024-02-30'],
          invalid_api_function: ['2024-1-9'],
          no_rates_available: ['1998-01-02', '2999-01-01'],
          invalid_base_currency: ['2024-03-28?base=ZZZ'],
          invalid_currency_codes: ['2024-03-28?symbols=USD,ZZZ'],
        },
        '2024-03-28',
      ),
      // 365 days: the longest timeframe Fixer takes.
      'GET /fixer/timeseries': fx(
        'timeseries',
        [`${range}&base=GBP&symbols=CHF,USD`, '?start_date=2024-01-01&end_date=2024-12-31&symbols=USD'],
        timeframe,
        range,
      ),
      'GET /fixer/fluctuation': fx(
        'fluctuation',
        [`?start_date=2024-03-30&end_date=2024-04-03&base=GBP&symbols=USD,CHF,JPY`, range],
        timeframe,
        range,
      ),
      'GET /fixer/convert': fx(
        'convert',
        ['?from=GBP&to=JPY&amount=25&date=2024-03-28', '?from=EUR&to=USD&amount=1234.5'],
        {
          invalid_from_currency: ['?to=JPY&amount=1', '?from=ZZZ&to=JPY&amount=1'],
          invalid_to_currency: ['?from=GBP&to=ZZZ&amount=1'],
          invalid_conversion_amount: ['?from=GBP&to=JPY', '?from=GBP&to=JPY&amount=0'],
          invalid_date: ['?from=GBP&to=JPY&amount=1&date=2024-13-01'],
          no_rates_available: ['?from=GBP&to=JPY&amount=1&date=1998-01-02'],
        },
        '?from=EUR&to=USD&amount=1',
      ),
      'GET /fixer/symbols': fx('symbols', [''], {}),
    });
  }
  return table;
}

interface Operation {
  key: string;
  template: RegExp;
  parameters: { name: string; in: string; schema: object }[];
  /** The query parameters that carry a key, by the operation's security schemes. */
  keys: string[];
  responses: Record<
    string,
    { content?: Record<string, { schema: object }>; headers?: Record<string, { required?: boolean; schema: object }> }
  >;
}

describe('GET /openapi.json describes every answer as it is', () => {
  let w: BackupWarehouse;
  let deadDb: Db;
  let apps: Record<AppName, Hono>;
  let operations: Operation[];
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  addFormats.default(ajv);
  const compiled = new Map<object, ValidateFunction>();
  const validator = (schema: object) => compiled.get(schema) ?? compiled.set(schema, ajv.compile(schema)).get(schema)!;

  beforeAll(async () => {
    w = await backupWarehouse();
    // The ECB's day of 2025-05-09 in force now, open.er-api's of 2024-01-09 no longer: a currency only it carried is
    // known but not in force.
    await w.db.query(`update fxpipe_settings set max_rate_age = (now() - timestamptz '2025-05-09') + interval '30 days'`);
    const [code] = await w.db.query<{ code: string }>(
      `select code from api.currencies c
        where code <> 'USD'
          and not exists (select 1 from api.latest_rates l where l.base = 'USD' and l.quote = c.code and l.status = 'current')
        order by code limit 1`,
    );
    notInForce = code!.code;
    const db = await w.database.openAs('pooled');
    // A database dropped under serve: every route that needs it is a 503.
    const gone = await createTestDatabase('fxgone', { empty: true });
    deadDb = await openDb({ url: gone.url, label: 'gone', embedded: false }, { driver: 'pooled', poolSize: 2 });
    await gone.drop();
    const app = (token: string | undefined, database: Db, name: string) => {
      const dir = scratchDir(`fxpipe-openapi-${name}-`);
      return createApp({
        db: database,
        sources: ['open-er-api', 'ecb'],
        token,
        cacheDir: dir,
        lastGoodDir: path.join(dir, 'last-good'),
        lastGoodScope: name,
        verify: {
          tolerancePct: '0.5',
          timeoutMs: 60_000,
          maxRows: 1000,
          places: 2,
          alerts: { webhookUrl: undefined, alerts: [], webhookTimeoutMs: 3000 },
        },
        databaseWaitMs: 2000,
        corsOrigins: undefined,
        log: createLogger('silent'),
      });
    };
    apps = { open: app(undefined, db, 'open'), guarded: app(TOKEN, db, 'guarded'), down: app(undefined, deadDb, 'down') };
    const document = (await (await apps.open.request('/openapi.json')).json()) as { paths: Record<string, Record<string, unknown>> };
    expect(document).toEqual(JSON.parse(JSON.stringify(openApiDocument())));
    const resolved = (await dereference(document as Parameters<typeof dereference>[0])) as unknown as {
      paths: Record<string, Record<string, Operation & { security?: Record<string, string[]>[] }>>;
      components: { securitySchemes: Record<string, { type: string; in?: string; name?: string }> };
    };
    const schemes = resolved.components.securitySchemes;
    operations = Object.entries(resolved.paths).flatMap(([template, item]) =>
      Object.entries(item).map(([method, operation]) => ({
        ...operation,
        // A key in the query string (?token=, ?app_id=) is described by the operation's security scheme.
        keys: (operation.security ?? [])
          .flatMap((requirement) => Object.keys(requirement))
          .flatMap((name) => (schemes[name]!.type === 'apiKey' && schemes[name]!.in === 'query' ? [schemes[name]!.name!] : [])),
        key: `${method.toUpperCase()} ${template}`,
        template: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\}/g, '(?<$1>[^/]+?)')}$`),
        parameters: operation.parameters ?? [],
      })),
    );
  }, 300_000);

  afterAll(async () => {
    await deadDb?.close().catch(() => undefined);
    await w?.close();
  });

  async function ask(operation: Operation, example: Example): Promise<Response> {
    const url = new URL(example.url, 'http://fxpipe.test');
    const match = operation.template.exec(url.pathname);
    expect(match, `${example.url} is not a path of ${operation.key}`).not.toBeNull();
    if (example.status < 300 && !example.refusal) {
      // A request that succeeds uses only documented parameters, with values their schemas allow.
      for (const [name, value] of [...url.searchParams].concat(Object.entries(match!.groups ?? {}))) {
        if (operation.keys.includes(name)) continue;
        const parameter = operation.parameters.find((p) => p.name === name);
        expect(parameter, `${example.url}: parameter ${name} is not described`).toBeDefined();
        expect(
          validator(parameter!.schema)(value),
          `${example.url}: ${name}=${value} ${ajv.errorsText(validator(parameter!.schema).errors)}`,
        ).toBe(true);
      }
    }
    return apps[example.app ?? 'open'].request(example.url, example.init);
  }

  /** The answer as the document describes its status: media type, body, required headers. */
  async function check(operation: Operation, example: Example, response: Response): Promise<void> {
    const where = `${example.app ?? 'open'} ${example.init?.method ?? 'GET'} ${example.url}`;
    const text = await response.text();
    expect(response.status, `${where}: ${text.slice(0, 300)}`).toBe(example.status);
    const described = operation.responses[String(response.status)];
    expect(described, `${where}: status ${response.status} is not described`).toBeDefined();
    for (const [name, header] of Object.entries(described!.headers ?? {})) {
      const value = response.headers.get(name);
      if (value === null) {
        expect(header.required, `${where}: header ${name} missing`).not.toBe(true);
        continue;
      }
      expect(validator(header.schema)(value), `${where}: header ${name}: ${value}`).toBe(true);
    }
    if (!described!.content) {
      expect(text, `${where}: a body where none is described`).toBe('');
      return;
    }
    // The media type answered must be one described for the status (a route may answer several, by Accept or format=).
    const type = response.headers.get('content-type')?.split(';')[0]?.trim() ?? '';
    if (example.type) expect(type, `${where}: its media type`).toBe(example.type);
    const media = described!.content[type];
    expect(media, `${where}: ${type} is not described (${Object.keys(described!.content).join(', ')})`).toBeDefined();
    const validate = validator(media!.schema);
    // A JSON answer is checked as the value it holds; any other (CSV, NDJSON) as its text.
    const body: unknown = type === 'application/json' ? JSON.parse(text) : text;
    expect(validate(body), `${where}: ${ajv.errorsText(validate.errors)}\n${text.slice(0, 500)}`).toBe(true);
    // A 200 that is a refusal (Fixer's) is the one asked for, and one not asked for as a refusal is none.
    if (response.status === 200) {
      const answer = body as { success?: unknown; error?: { type?: unknown } };
      expect(answer.success === false ? answer.error?.type : undefined, where).toBe(example.refusal);
    }
  }

  it("every documented operation and status, asked for real, answers as described (a 304 from its 200's ETag)", async () => {
    const table = examples();
    for (const operation of operations) {
      const asked = table[operation.key];
      expect(asked, `${operation.key} is described but has no example request here`).toBeDefined();
      const statuses = new Set(asked!.map((e) => e.status));
      for (const status of Object.keys(operation.responses)) {
        if (status === '304' || (operation.key === 'POST /api/v1/verify' && status === '408')) continue;
        expect(statuses.has(Number(status)), `${operation.key}: no example request answers ${status}`).toBe(true);
      }
      let revalidated = false;
      for (const example of asked!) {
        const response = await ask(operation, example);
        const etag = response.headers.get('etag');
        await check(operation, example, response);
        if (example.status === 200 && '304' in operation.responses && etag && !example.app && !example.refusal && !revalidated) {
          revalidated = true;
          const again = { ...example, status: 304, init: { headers: { 'if-none-match': etag } } };
          await check(operation, again, await ask(operation, again));
        }
      }
      if ('304' in operation.responses)
        expect(revalidated, `${operation.key}: no 200 with an ETag on the open app to revalidate`).toBe(true);
    }
    // Every example belongs to a described operation.
    expect(Object.keys(table).filter((key) => !operations.some((o) => o.key === key))).toEqual([]);
  }, 60_000);

  it('POST /api/v1/verify: a body that does not all arrive within 30 s is the described 408', async () => {
    const operation = operations.find((o) => o.key === 'POST /api/v1/verify')!;
    expect(Object.keys(operation.responses)).toContain('408');
    let stream: ReadableStreamDefaultController<Uint8Array> | undefined;
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        stream = controller;
        controller.enqueue(new TextEncoder().encode('base,quote,rate\n'));
      },
    });
    // Its length said (a chunked body is read whole by the size limit first, which has no time limit of its own).
    const init = { method: 'POST', body, duplex: 'half', headers: { 'content-length': '1000' } };
    const example: Example = { status: 408, url: '/api/v1/verify', init: init };
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      let answered: Response | undefined;
      const pending = ask(operation, example).then((response) => (answered = response));
      for (let s = 0; s < 40 && !answered; s++) await vi.advanceTimersByTimeAsync(1000);
      await check(operation, example, await pending);
    } finally {
      vi.useRealTimers();
      stream?.close();
    }
  });

  it('GET /openapi.json may be read by a page of another origin (a documentation viewer on another host)', async () => {
    const response = await apps.open.request('/openapi.json', { headers: { origin: 'https://docs.example' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
  });

  it("every route the app mounts (but the dashboard's, /login and /metrics) is described", () => {
    const described = new Set(operations.map((o) => `${o.key.split(' ')[0]} ${normalised(o.key.split(' ')[1]!)}`));
    const mounted = apps.open.routes
      .filter((r) => (r.method === 'GET' || r.method === 'POST') && !r.path.includes('*'))
      .flatMap((r) => honoPaths(r.path).map((p) => `${r.method} ${p}`))
      .filter((route) => !/^(GET|POST) (\/|\/assets\/.*|\/login|\/metrics)$/.test(route));
    expect([...new Set(mounted)].filter((route) => !described.has(route))).toEqual([]);
  });
});

/** A path with each parameter (and anything after it in its segment) as `{}`: Hono's and OpenAPI's forms compare. */
const normalised = (template: string) => template.replace(/\{\w+\}[^/]*/g, '{}');

/** Hono's `/:name{regex}` and `/:name?` as OpenAPI-like paths (an optional parameter: with it and without it). */
function honoPaths(route: string): string[] {
  const segments = route.split('/');
  let paths = [''];
  for (const segment of segments.slice(1)) {
    if (!segment.startsWith(':')) {
      paths = paths.map((p) => `${p}/${segment}`);
    } else {
      const placeholder = paths.map((p) => `${p}/{}`);
      paths = segment.endsWith('?') ? [...paths, ...placeholder] : placeholder;
    }
  }
  return paths.map((p) => p || '/');
}
