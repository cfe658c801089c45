import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse as parseLossless, type LosslessNumber } from 'lossless-json';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RateDecimal } from '../../src/transform/decimal.js';
import type { SessionDb } from '../../src/warehouse/db.js';
import { backupWarehouse, digits, ecbHistory, OPEN_ER, type BackupWarehouse } from './backup-support.js';
import { startServe, type Served } from './support.js';
import { matcher } from '../helpers/matcher.js';
import { manualRun } from '../helpers/pipeline.js';

/**
 * `fxpipe serve` answering as Open Exchange Rates and as ExchangeRate-API (v6 and the keyless open.er-api), from a
 * warehouse loaded with the real provider files (backup-support.ts). open.er-api's own answer of 2024-01-09 is the
 * golden file: fxpipe's answer for that publication must equal it field by field; the OXR and v6 answers must carry
 * the same rates in those providers' shapes. Rates fxpipe computes are checked against the ECB's file with decimal.js.
 * The warehouse's max_rate_age is 10 years here, so that the 2024 publications count as the latest in force.
 */
const six = (value: RateDecimal) => value.toDecimalPlaces(6);
const require = createRequire(import.meta.url);

interface Answer {
  status: number;
  body: Record<string, unknown>;
  text: string;
}

describe('fxpipe serve as Open Exchange Rates and as ExchangeRate-API', () => {
  let w: BackupWarehouse;
  let db: SessionDb;
  let served: Served;
  let tokenServed: Served;
  const token = 'backup-token-0123456789abcdef';
  const published = parseLossless(OPEN_ER.toString()) as Record<string, unknown> & { rates: Record<string, LosslessNumber> };
  const publishedRates = Object.fromEntries(Object.entries(published.rates).map(([code, value]) => [code, value.toString()]));

  beforeAll(async () => {
    w = await backupWarehouse();
    db = w.db;
    await db.query(`update fxpipe_settings set max_rate_age = interval '3650 days'`);
    served = await startServe(w.database, w.home);
    tokenServed = await startServe(w.database, w.home, { FXPIPE_API_TOKEN: token });
  }, 300_000);

  afterAll(async () => {
    await served?.stop();
    await tokenServed?.stop();
    await w?.close();
  });

  async function get(pathAndQuery: string, server = served, headers: Record<string, string> = {}): Promise<Answer> {
    const response = await fetch(`${server.url}/${pathAndQuery}`, { headers });
    const text = await response.text();
    return { status: response.status, body: JSON.parse(text) as Record<string, unknown>, text };
  }

  it('open.er-api: the latest publication answered field by field as the provider answered it', async () => {
    const answer = await get('open-er-api/v6/latest/USD?source=open-er-api');
    expect(answer.status).toBe(200);
    expect(Object.keys(answer.body)).toEqual(Object.keys(published));
    const { time_next_update_unix: nextUnix, time_next_update_utc: nextUtc, rates, ...rest } = answer.body;
    const {
      time_next_update_unix: _u,
      time_next_update_utc: _t,
      rates: _r,
      ...expected
    } = JSON.parse(OPEN_ER.toString()) as Record<string, unknown>;
    expect(rest).toEqual(expected);
    // The next update is announced a day after this one (the provider's own varies by minutes).
    expect(nextUnix).toBe(1_704_758_551 + 86_400);
    expect(nextUtc).toBe('Wed, 10 Jan 2024 00:02:31 +0000');
    expect(Object.keys(rates as object)).toEqual(Object.keys(publishedRates));
    expect(digits(answer.text, 'rates')).toEqual(publishedRates);
  });

  it('ExchangeRate-API v6 and OXR: the same publication in their shapes, every rate exactly as published', async () => {
    const v6 = await get('exchangerate-api/v6/any-key/latest/USD?source=open-er-api');
    expect(Object.keys(v6.body)).toEqual([
      'result',
      'documentation',
      'terms_of_use',
      'time_last_update_unix',
      'time_last_update_utc',
      'time_next_update_unix',
      'time_next_update_utc',
      'base_code',
      'conversion_rates',
    ]);
    expect(v6.body).toMatchObject({
      result: 'success',
      base_code: 'USD',
      time_last_update_unix: 1_704_758_551,
      time_last_update_utc: 'Tue, 09 Jan 2024 00:02:31 +0000',
    });
    expect(digits(v6.text, 'conversion_rates')).toEqual(publishedRates);

    const oxr = await get('openexchangerates/api/latest.json?app_id=anything&source=open-er-api');
    expect(Object.keys(oxr.body)).toEqual(['disclaimer', 'license', 'timestamp', 'base', 'rates']);
    expect(oxr.body).toMatchObject({
      disclaimer: 'Usage subject to terms: https://openexchangerates.org/terms',
      license: 'https://openexchangerates.org/license',
      timestamp: 1_704_758_551,
      base: 'USD',
    });
    expect(digits(oxr.text, 'rates')).toEqual(Object.fromEntries(Object.entries(publishedRates).sort(([a], [b]) => a.localeCompare(b))));

    // Another base: each rate computed from the published ones and written to 6 decimal places.
    const eur = await get('exchangerate-api/v6/k/latest/EUR?source=open-er-api');
    const usdToEur = new RateDecimal(publishedRates.EUR!);
    const expected = Object.fromEntries(
      Object.entries(publishedRates)
        .filter(([code]) => code !== 'EUR')
        .map(([code, value]) => [code, six(new RateDecimal(value).div(usdToEur)).toFixed()] as const)
        .sort(([a], [b]) => a.localeCompare(b)),
    );
    expect(digits(eur.text, 'conversion_rates')).toEqual({ EUR: '1', ...expected });
    const pair = await get('exchangerate-api/v6/k/pair/EUR/GBP/250?source=open-er-api');
    expect(pair.body).toMatchObject({
      result: 'success',
      base_code: 'EUR',
      target_code: 'GBP',
      conversion_rate: Number(expected.GBP),
      conversion_result: Number(six(new RateDecimal(publishedRates.GBP!).div(usdToEur).times(250)).toFixed()),
    });
  });

  it("OXR history: a weekend answers the last publishing day; a time series over Easter lists the ECB's publishing days", async () => {
    const saturday = await get('openexchangerates/api/historical/2024-01-13.json?base=EUR&symbols=USD,JPY&source=ecb');
    const friday = ecbHistory('2024-01-12');
    expect(saturday.body).toMatchObject({ timestamp: matcher.any(Number), base: 'EUR' });
    expect(new Date((saturday.body.timestamp as number) * 1000).toISOString().slice(0, 10)).toBe('2024-01-12');
    expect(digits(saturday.text, 'rates')).toEqual({ JPY: six(friday.get('JPY')!).toFixed(), USD: six(friday.get('USD')!).toFixed() });
    const series = await get('openexchangerates/api/time-series.json?start=2024-03-27&end=2024-04-03&base=EUR&symbols=USD&source=ecb');
    expect(Object.keys(series.body)).toEqual(['disclaimer', 'license', 'start_date', 'end_date', 'base', 'rates']);
    expect(Object.keys(series.body.rates as object)).toEqual(['2024-03-27', '2024-03-28', '2024-04-02', '2024-04-03']);
    for (const day of Object.keys(series.body.rates as object)) {
      expect(digits(series.text, 'rates', day), day).toEqual({ USD: six(ecbHistory(day).get('USD')!).toFixed() });
    }
    const v6 = await get('exchangerate-api/v6/k/history/EUR/2024/3/29?source=ecb');
    expect(v6.body).toMatchObject({ result: 'success', year: 2024, month: 3, day: 29, base_code: 'EUR' });
    expect(digits(v6.text, 'conversion_rates').USD).toBe(six(ecbHistory('2024-03-28').get('USD')!).toFixed());
  });

  it("answers errors in each family's own shape and status", async () => {
    const oxrError = (status: number, message: string) => ({
      status,
      body: { error: true, status, message, description: matcher.any(String) },
    });
    expect(await get('openexchangerates/api/latest.json?base=ZZZ')).toMatchObject(oxrError(400, 'invalid_base'));
    expect(await get('openexchangerates/api/historical/2024-02-30.json')).toMatchObject(oxrError(400, 'invalid_date'));
    expect(await get('openexchangerates/api/historical/1998-01-02.json')).toMatchObject(oxrError(400, 'not_available'));
    expect(await get('openexchangerates/api/convert/-1/USD/EUR')).toMatchObject(oxrError(400, 'invalid_amount'));
    expect(await get('openexchangerates/api/convert/10/USD/ZZZ')).toMatchObject(oxrError(400, 'invalid_currency'));
    expect(await get('openexchangerates/api/nothing')).toMatchObject(oxrError(404, 'not_found'));
    const v6Error = (status: number, type: string) => ({ status, body: { result: 'error', 'error-type': type } });
    expect(await get('exchangerate-api/v6/k/latest/ZZZ')).toMatchObject(v6Error(404, 'unsupported-code'));
    expect(await get('exchangerate-api/v6/k/pair/USD/EUR/abc')).toMatchObject(v6Error(400, 'malformed-request'));
    expect(await get('exchangerate-api/v6/k/history/USD/2024/2/30')).toMatchObject(v6Error(400, 'malformed-request'));
    expect(await get('exchangerate-api/v6/k/history/USD/1998/1/2')).toMatchObject(v6Error(404, 'no-data-available'));
    expect(await get('open-er-api/v6/latest/ZZZ')).toMatchObject({
      status: 404,
      body: { result: 'error', 'error-type': 'unsupported-code' },
    });
  });

  it("with FXPIPE_API_TOKEN: OXR's app_id, v6's key segment, a bearer or ?token= for open.er-api", async () => {
    const oxrError = (status: number, message: string) => ({ status, body: { error: true, status, message } });
    expect(await get('openexchangerates/api/latest.json', tokenServed)).toMatchObject(oxrError(401, 'missing_app_id'));
    expect(await get('openexchangerates/api/latest.json?app_id=wrong', tokenServed)).toMatchObject(oxrError(401, 'invalid_app_id'));
    expect((await get(`openexchangerates/api/latest.json?app_id=${token}`, tokenServed)).status).toBe(200);
    expect((await get('openexchangerates/api/currencies.json', tokenServed)).status).toBe(200);
    expect(await get('exchangerate-api/v6/wrong/latest/USD', tokenServed)).toMatchObject({
      status: 403,
      body: { result: 'error', 'error-type': 'invalid-key' },
    });
    expect((await get(`exchangerate-api/v6/${token}/latest/USD`, tokenServed)).status).toBe(200);
    expect((await get('open-er-api/v6/latest/USD', tokenServed)).status).toBe(403);
    expect((await get('open-er-api/v6/latest/USD', tokenServed, { authorization: `Bearer ${token}` })).status).toBe(200);
    expect((await get(`open-er-api/v6/latest/USD?token=${token}`, tokenServed)).status).toBe(200);
  });

  it('the latest answers are kept until a run changes the data: the next publication is answered within a second of its commit', async () => {
    const before = await get('open-er-api/v6/latest/USD?source=open-er-api');
    expect(before.body.time_last_update_unix).toBe(1_704_758_551);
    // open.er-api's next day: a new as-of and EUR moved.
    const next = OPEN_ER.toString()
      .replace('"time_last_update_unix":1704758551', '"time_last_update_unix":1704844951')
      .replace(/"EUR":[0-9.]+/, '"EUR":0.9111');
    const server = createServer((_, response) => response.writeHead(200, { 'content-type': 'application/json' }).end(next));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const run = await manualRun(db, 'open-er-api', { baseUrl: origin }, () => new Date('2024-01-10T06:00:00Z'));
      expect(run).toMatchObject({ status: 'loaded' });
    } finally {
      server.close();
    }
    await sleep(1100);
    const after = await get('open-er-api/v6/latest/USD?source=open-er-api');
    expect(after.body.time_last_update_unix).toBe(1_704_844_951);
    expect(digits(after.text, 'rates').EUR).toBe('0.9111');
  });

  it("oxr from npm, unmodified, pointed at fxpipe by its host settings, gets api.convert's rates", async () => {
    const { port } = new URL(served.url);
    const oxr = require('oxr') as { factory(options: Record<string, unknown>): OxrClient };
    const client = oxr.factory({ appId: 'any-app-id', protocol: 'http', hostname: '127.0.0.1', port: Number(port) });
    const convert = async (from: string, to: string, at: string | null) =>
      (await db.query<{ rate: string }>('select rate::text as rate from api.convert(1, $1, $2, $3::timestamptz)', [from, to, at]))[0]!.rate;
    // The latest in force: the ECB's 2025-05-09 (it ranks first); its USD rates are rebased, so computed (6 places).
    const latest = await client.latest({ base: 'USD', symbols: 'EUR,GBP,JPY' });
    expect(latest.base).toBe('USD');
    for (const code of ['EUR', 'GBP', 'JPY'])
      expect(latest.rates[code], code).toBe(Number(six(new RateDecimal(await convert('USD', code, null))).toFixed()));
    const day = await client.historical('2024-01-10');
    for (const code of ['EUR', 'GBP', 'JPY', 'CHF']) {
      expect(day.rates[code], code).toBe(Number(six(new RateDecimal(await convert('USD', code, '2024-01-10T23:59:59Z'))).toFixed()));
    }
    const currencies = await client.currencies();
    expect(Object.keys(currencies)).toContain('EUR');
  });
});

interface OxrClient {
  latest(options: { base?: string; symbols?: string }): Promise<{ base: string; rates: Record<string, number> }>;
  historical(day: string): Promise<{ base: string; rates: Record<string, number> }>;
  currencies(): Promise<Record<string, string>>;
}
