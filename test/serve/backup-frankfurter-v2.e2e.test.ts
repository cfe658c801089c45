import path from 'node:path';
import { parse as parseLossless, isLosslessNumber, type LosslessNumber } from 'lossless-json';
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { createApp } from '../../src/serve/app.js';
import { magnitudeRound } from '../../src/serve/backup/numbers.js';
import { familyOf, unavailableAnswer } from '../../src/serve/families.js';
import { RateDecimal } from '../../src/transform/decimal.js';
import { scratchDir } from '../helpers/database.js';
import { matcher } from '../helpers/matcher.js';
import { backupWarehouse, ecbHistory, OPEN_ER, type BackupWarehouse } from './backup-support.js';

/**
 * `fxpipe serve` answering as Frankfurter v2 (docs/backup.md, "Frankfurter v2"), in process, from a warehouse loaded
 * with the real provider files in test/fixtures (the ECB's 2024 history and daily file, open.er-api's 2024-01-09). The
 * expected answers are worked out here from those files — week buckets as Frankfurter's lib/bucket.rb dates them,
 * averages as its rollups take them, rounding by lib/roundable.rb's bands — and the shapes and error messages are those
 * of lineofflight/frankfurter's lib/public/v2/openapi.json and spec/versions/v2_spec.rb.
 */
interface RateRecord {
  date: string;
  base: string;
  quote: string;
  rate: string;
  providers?: { key: string; date: string; rate: string }[];
}

/** Records with each number as the digits written. */
function records(text: string): RateRecord[] {
  const digits = (value: unknown) => (isLosslessNumber(value) ? value.toString() : String(value));
  return (parseLossless(text) as Record<string, unknown>[]).map((r) => ({
    date: r.date as string,
    base: r.base as string,
    quote: r.quote as string,
    rate: digits(r.rate),
    ...(r.providers
      ? {
          providers: (r.providers as Record<string, unknown>[]).map((p) => ({
            key: p.key as string,
            date: p.date as string,
            rate: digits(p.rate),
          })),
        }
      : {}),
  }));
}

/** The days of the ECB's 2024 file from `from` to `to`, each with its EUR→code. */
function ecbDays(from: string, to: string): [string, Map<string, RateDecimal>][] {
  const days: [string, Map<string, RateDecimal>][] = [];
  for (let at = Date.parse(`${from}T00:00:00Z`); at <= Date.parse(`${to}T00:00:00Z`); at += 86_400_000) {
    const day = new Date(at).toISOString().slice(0, 10);
    try {
      days.push([day, ecbHistory(day)]);
    } catch {
      // not a publishing day
    }
  }
  return days;
}

/** SQLite's 1 January + 7 × %W days, counted from the year's first Monday (week 1), written out differently from the code. */
function weekBucket(day: string): string {
  const year = Number(day.slice(0, 4));
  let firstMonday = Date.UTC(year, 0, 1);
  while (new Date(firstMonday).getUTCDay() !== 1) firstMonday += 86_400_000;
  const at = Date.parse(`${day}T00:00:00Z`);
  const week = at < firstMonday ? 0 : Math.floor((at - firstMonday) / (7 * 86_400_000)) + 1;
  return new Date(Date.UTC(year, 0, 1 + 7 * week)).toISOString().slice(0, 10);
}

/** A rate as Frankfurter's JSON writes a Float: an integral value keeps `.0`; a rounded one over 5000 is an Integer. */
const float = (text: string) => (text.includes('.') ? text : `${text}.0`);
const rounded = (value: RateDecimal) => (value.gt(5000) ? magnitudeRound(value) : float(magnitudeRound(value)));

describe('fxpipe serve as Frankfurter v2', () => {
  let w: BackupWarehouse;
  let app: Hono;
  let guarded: Hono;
  const token = 'frankfurter-v2-token-4c1d9e';

  beforeAll(async () => {
    w = await backupWarehouse();
    // The stored days are 2024's and 2025's: keep them in force, so that the latest answers too.
    await w.db.query(`update fxpipe_settings set max_rate_age = interval '3650 days'`);
    const cacheDir = path.join(scratchDir('fxpipe-v2-'), 'cache');
    const options = (t: string | undefined) => ({
      db: w.db,
      sources: ['ecb' as const, 'open-er-api' as const],
      token: t,
      cacheDir,
      lastGoodDir: path.join(cacheDir, `last-good-${t ?? 'open'}`),
      lastGoodScope: 'test',
      databaseWaitMs: 5000,
      corsOrigins: undefined,
      log: createLogger('silent'),
      verify: {
        tolerancePct: '0.5',
        timeoutMs: 60_000,
        maxRows: 1000,
        places: 2,
        alerts: { webhookUrl: undefined, alerts: [], webhookTimeoutMs: 3000 },
      },
    });
    app = createApp(options(undefined));
    guarded = createApp(options(token));
  }, 300_000);

  afterAll(async () => {
    await w?.close();
  });

  const get = (url: string, headers: Record<string, string> = {}, on = app) => on.request(`/frankfurter/v2${url}`, { headers });

  it('a range by week: JSON, CSV and NDJSON hold the same records, each bucket the average of its days, rounded by magnitude', async () => {
    const query = '?from=2024-03-04&to=2024-03-29&base=USD&quotes=EUR,GBP,JPY,USD&group=week';
    const json = await get(`/rates${query}`);
    expect(json.status).toBe(200);
    expect(json.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(json.headers.get('cache-control')).toBe('public, max-age=86400, stale-while-revalidate=86400, stale-if-error=86400');
    const answered = records(await json.text());

    // Frankfurter opens on the nearest bucket dated on or before `from` (lib/rate_scopes.rb, between): 2024's buckets
    // fall on the Monday after their week, so 2024-03-04 is the week of 26 February.
    const days = ecbDays('2024-02-19', '2024-04-07');
    const buckets = new Map<string, Map<string, RateDecimal>[]>();
    for (const [day, rates] of days) buckets.set(weekBucket(day), [...(buckets.get(weekBucket(day)) ?? []), rates]);
    const wanted = ['2024-03-04', '2024-03-11', '2024-03-18', '2024-03-25'];
    const average = (values: Map<string, RateDecimal>[], code: string) =>
      values.reduce((sum, v) => sum.plus(code === 'EUR' ? 1 : v.get(code)!), new RateDecimal(0)).div(values.length);
    const expected = wanted.flatMap((date) => {
      const values = buckets.get(date)!;
      const usd = average(values, 'USD');
      return ['EUR', 'GBP', 'JPY']
        .map((quote) => ({ date, base: 'USD', quote, rate: rounded(average(values, quote).div(usd)) }))
        .concat([{ date, base: 'USD', quote: 'USD', rate: '1.0' }]);
    });
    expect(answered).toEqual(expected);
    expect(buckets.get('2024-03-04')!.length).toBe(5);

    const csv = await get(`/rates.csv${query}`);
    expect(csv.headers.get('content-type')).toBe('text/csv');
    const lines = (await csv.text()).trimEnd().split('\n');
    expect(lines[0]).toBe('date,base,quote,rate');
    expect(lines.slice(1)).toEqual(expected.map((r) => `${r.date},${r.base},${r.quote},${r.rate}`));
    // By Accept too (Roda's type_routing), and then the answer varies by Accept.
    const accepted = await get(`/rates${query}`, { accept: 'text/csv' });
    expect(await accepted.text()).toBe(`${lines.join('\n')}\n`);
    expect(accepted.headers.get('vary')).toBe('Accept');

    const ndjson = await get(`/rates${query}`, { accept: 'application/x-ndjson' });
    expect(ndjson.headers.get('content-type')).toBe('application/x-ndjson');
    expect(ndjson.headers.get('vary')).toBe('Accept');
    const ndLines = (await ndjson.text()).split('\n');
    expect(ndLines.at(-1)).toBe('');
    expect(ndLines.slice(0, -1).flatMap((line) => records(`[${line}]`))).toEqual(expected);
    // A streamed range carries its own ETag: asked again with it, a 304.
    const again = await get(`/rates${query}`, { 'if-none-match': json.headers.get('etag')! });
    expect(again.status).toBe(304);
  });

  it("base EUR from the ECB alone: every rate the ECB's own digits, unrounded; in USD, its cross rounded by magnitude", async () => {
    const answer = records(await (await get('/rates?from=2024-06-03&to=2024-06-07&providers=ecb')).text());
    const days = ecbDays('2024-06-03', '2024-06-07');
    expect([...new Set(answer.map((r) => r.date))]).toEqual(days.map(([day]) => day));
    for (const [day, rates] of days) {
      const ofDay = answer.filter((r) => r.date === day);
      expect(ofDay.map((r) => r.quote)).toEqual([...rates.keys(), 'EUR'].sort());
      for (const record of ofDay) {
        expect(record.base).toBe('EUR');
        expect(record.rate).toBe(record.quote === 'EUR' ? '1.0' : float(rates.get(record.quote)!.toFixed()));
      }
    }
    // The ECB published IDR 17646.42 that day and KRW 1497.58 on others: a Float each, as stored.
    const day = records(await (await get('/rates?date=2024-06-08&providers=ECB&quotes=IDR,JPY,USD')).text());
    const friday = ecbHistory('2024-06-07');
    expect(day).toEqual(
      ['IDR', 'JPY', 'USD'].map((quote) => ({ date: '2024-06-07', base: 'EUR', quote, rate: float(friday.get(quote)!.toFixed()) })),
    );

    // Without providers= the answer is a blend in Frankfurter, always rounded: the ECB's EUR→IDR to 0 places.
    const plain = records(await (await get('/rates?date=2024-06-07&quotes=IDR')).text());
    expect(plain).toEqual([{ date: '2024-06-07', base: 'EUR', quote: 'IDR', rate: magnitudeRound(friday.get('IDR')!) }]);

    const usd = records(await (await get('/rates?date=2024-06-07&base=USD&quotes=EUR,JPY,KRW,ZAR')).text());
    expect(usd).toEqual(
      ['EUR', 'JPY', 'KRW', 'ZAR'].map((quote) => ({
        date: '2024-06-07',
        base: 'USD',
        quote,
        rate: rounded((quote === 'EUR' ? new RateDecimal(1) : friday.get(quote)!).div(friday.get('USD')!)),
      })),
    );
  });

  it('one pair, the identity pair, and the latest', async () => {
    const pair = await get('/rate/eur/usd?date=2024-06-07&providers=ECB');
    expect(pair.status).toBe(200);
    expect(await pair.text()).toBe(
      `{"date":"2024-06-07","base":"EUR","quote":"USD","rate":${float(ecbHistory('2024-06-07').get('USD')!.toFixed())}}`,
    );
    const identity = await get('/rate/USD/USD');
    expect(await identity.text()).toMatch(/^\{"date":"\d{4}-\d{2}-\d{2}","base":"USD","quote":"USD","rate":1\.0\}$/);
    // The latest: the ECB's daily file of 2025-05-09, alphabetical, with the identity record (v2's openapi.json example).
    const latest = records(await (await get('/rates?quotes=USD,GBP,EUR')).text());
    expect(latest.map((r) => [r.date, r.base, r.quote])).toEqual([
      ['2025-05-09', 'EUR', 'EUR'],
      ['2025-05-09', 'EUR', 'GBP'],
      ['2025-05-09', 'EUR', 'USD'],
    ]);
    expect(latest[0]!.rate).toBe('1.0');
  });

  it("expand=providers lists each source's own rate beside the answer; CSV as KEY:RATE joined by |", async () => {
    const answer = records(await (await get('/rates?date=2024-01-09&base=USD&quotes=EUR&expand=providers')).text());
    const ecb = ecbHistory('2024-01-09');
    const published = parseLossless(OPEN_ER.toString()) as { rates: Record<string, LosslessNumber> };
    const openEr = float(magnitudeRound(new RateDecimal(published.rates.EUR!.toString())));
    const fromEcb = rounded(new RateDecimal(1).div(ecb.get('USD')!));
    expect(answer).toEqual([
      {
        date: '2024-01-09',
        base: 'USD',
        quote: 'EUR',
        rate: fromEcb,
        providers: [
          { key: 'ECB', date: '2024-01-09', rate: fromEcb },
          { key: 'OPEN-ER-API', date: '2024-01-09', rate: openEr },
        ],
      },
    ]);
    const csv = await (await get('/rates.csv?date=2024-01-09&base=USD&quotes=EUR&expand=providers')).text();
    expect(csv).toBe(`date,base,quote,rate,providers\n2024-01-09,USD,EUR,${fromEcb},ECB:${fromEcb}|OPEN-ER-API:${openEr}\n`);
  });

  it('errors as Frankfurter writes them: 422 {status, message}, 404 not found, 406 for CSV elsewhere', async () => {
    const cases: [string, number, unknown][] = [
      ['/rates?provider=ecb', 422, { status: 422, message: 'unknown parameter: provider' }],
      ['/rates?date=not-a-date', 422, { status: 422, message: 'invalid date' }],
      ['/rates?date=2023-02-29', 422, { status: 422, message: 'invalid date' }],
      ['/rates?date=2024-06-07&from=2024-06-01', 422, { status: 422, message: 'conflicting params' }],
      ['/rates?from=2024-06-01&to=2024-06-07&group=day', 422, { status: 422, message: 'invalid group' }],
      ['/rates?expand=foo', 422, { status: 422, message: 'invalid expand: foo' }],
      ['/rates?base=FOO&quotes=BAR', 422, { status: 422, message: 'invalid currency: FOO,BAR' }],
      ['/rate/EUR/XYZ', 422, { status: 422, message: 'invalid currency: XYZ' }],
      [
        '/rates?from=2000-01-01&to=2024-06-07&expand=providers',
        422,
        {
          status: 422,
          message:
            'date range exceeds 5 years at daily granularity; filter with quotes= (5 currencies or fewer), ' +
            'aggregate with group=week or group=month, or split the range into shorter requests',
        },
      ],
      ['/currency/xyz', 404, { status: 404, message: 'not found' }],
      ['/rates/nothing', 404, { status: 404, message: 'not found' }],
      ['/rates?date=1901-01-01', 200, []],
      ['/rates?base=EUR&providers=nobody', 200, []],
    ];
    for (const [url, status, body] of cases) {
      const answer = await get(url);
      expect({ url, status: answer.status, body: (await answer.json()) as unknown }).toEqual({ url, status, body });
    }
    expect((await get('/currencies.csv')).status).toBe(406);
    expect((await get('/currencies', { accept: 'text/csv' })).status).toBe(406);
    expect(await (await get('/rates', {}, guarded)).json()).toEqual({ status: 401, message: matcher.stringMatching(/^unauthorized/) });
    expect((await get(`/rates?token=${token}&quotes=USD`, {}, guarded)).status).toBe(200);
    // The database down: v2's shape, from the app's own outage answer.
    expect(familyOf('/frankfurter/v2/rates')).toBe('frankfurter-v2');
    expect(await unavailableAnswer('frankfurter-v2').json()).toEqual({ status: 503, message: matcher.stringMatching(/unavailable/) });
  });

  it("the root, providers, currencies and v2's own document", async () => {
    expect(await (await get('')).json()).toEqual(await (await get('/')).json());
    expect(await (await get('/')).json()).toEqual({
      version: 'v2',
      status: 'current',
      openapi: '/frankfurter/v2/openapi.json',
      docs: 'https://frankfurter.dev',
    });
    const providers = (await (await get('/providers')).json()) as Record<string, unknown>[];
    expect(providers.map((p) => [p.key, p.pivot_currency, p.start_date, p.end_date])).toEqual([
      ['ECB', 'EUR', '2024-01-02', '2025-05-09'],
      ['OPEN-ER-API', 'USD', '2024-01-09', '2024-01-09'],
    ]);
    expect(providers[0]!.currencies).toEqual(expect.arrayContaining(['EUR', 'JPY', 'USD']));
    const currencies = (await (await get('/currencies?scope=all')).json()) as Record<string, unknown>[];
    expect(currencies.find((c) => c.iso_code === 'USD')).toMatchObject({
      iso_numeric: '840',
      start_date: '2024-01-02',
      end_date: '2025-05-09',
    });
    expect(await (await get('/currency/jpy')).json()).toMatchObject({ iso_code: 'JPY', providers: ['ECB', 'OPEN-ER-API'] });
    const document = (await (await get('/openapi.json')).json()) as { openapi: string; paths: Record<string, unknown> };
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining(['/rates', '/rate/{base}/{quote}', '/currencies', '/currency/{code}', '/providers']),
    );
  });
});
