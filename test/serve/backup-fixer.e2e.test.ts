import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import path from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { Decimal } from 'decimal.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { createApp } from '../../src/serve/app.js';
import { familyOf, unavailableAnswer } from '../../src/serve/families.js';
import { scratchDir } from '../helpers/database.js';
import { matcher } from '../helpers/matcher.js';
import { backupWarehouse, digits, ecbDaily, ecbHistory, type BackupWarehouse } from './backup-support.js';

/**
 * `fxpipe serve` answering as Fixer (docs/backup.md, "Fixer"), in process on 127.0.0.1, from a warehouse loaded with
 * the real provider files (backup-support.ts): the ECB's daily file of 2025-05-09 (the latest in force: the warehouse's
 * max_rate_age is 10 years here) and its 2024 history. The `fixer-api` client from npm, unmodified and pointed at
 * /fixer by its base URL, reads latest, a date, timeseries and convert. Every expected number is worked out here from
 * the ECB's files with decimal.js — Fixer's 6 decimal places for a rate the ECB did not publish, the ECB's own digits
 * for one it did (base EUR), fluctuation's change and change_pct to 4 places — never read back from the warehouse.
 */
const D = Decimal.clone({ precision: 50 });
const places = (value: Decimal, n: number) => value.toDecimalPlaces(n, Decimal.ROUND_HALF_EVEN).toFixed();
const require = createRequire(import.meta.url);

interface FixerClient {
  set(options: { baseUrl?: string; accessKey?: string }): FixerClient;
  latest(options?: { base?: string; symbols?: string[] }): Promise<Record<string, unknown>>;
  forDate(date: string, options?: { base?: string; symbols?: string[] }): Promise<Record<string, unknown>>;
  timeseries(start: string, end: string, options?: { base?: string; symbols?: string[] }): Promise<Record<string, unknown>>;
  convert(from: string, to: string, amount: number, date?: string): Promise<Record<string, unknown>>;
  symbols(): Promise<Record<string, unknown>>;
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
  text: string;
  headers: Headers;
}

describe('fxpipe serve as Fixer', () => {
  let w: BackupWarehouse;
  let open: { url: string; server: ServerType };
  let guarded: { url: string; server: ServerType };
  const token = 'fixer-token-0123456789abcdef';

  async function start(appToken: string | undefined): Promise<{ url: string; server: ServerType }> {
    const cacheDir = scratchDir('fxpipe-fixer-');
    const app = createApp({
      db: w.db,
      sources: ['ecb'],
      token: appToken,
      cacheDir,
      log: createLogger('silent'),
      verify: {
        tolerancePct: '0.5',
        timeoutMs: 60_000,
        maxRows: 1000,
        places: 2,
        alerts: { webhookUrl: undefined, alerts: [], webhookTimeoutMs: 3000 },
      },
      lastGoodDir: path.join(cacheDir, 'last-good'),
      lastGoodScope: 'test',
      databaseWaitMs: 5000,
      corsOrigins: undefined,
    });
    return new Promise((resolve) => {
      const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => {
        resolve({ url: `http://127.0.0.1:${info.port}`, server });
      });
    });
  }

  beforeAll(async () => {
    w = await backupWarehouse();
    await w.db.query(`update fxpipe_settings set max_rate_age = interval '3650 days'`);
    open = await start(undefined);
    guarded = await start(token);
  }, 300_000);

  afterAll(async () => {
    for (const s of [open, guarded]) if (s) await new Promise((resolve) => s.server.close(resolve));
    await w?.close();
  });

  async function get(pathAndQuery: string, server = open, headers: Record<string, string> = {}): Promise<Answer> {
    const response = await fetch(`${server.url}/fixer/${pathAndQuery}`, { headers });
    const text = await response.text();
    return { status: response.status, body: JSON.parse(text) as Record<string, unknown>, text, headers: response.headers };
  }

  /** The ECB's EUR→code of a day of its 2024 file (or of its daily file of 2025-05-09), EUR itself 1. */
  const ecb = (day: string) => {
    const published = day === '2025-05-09' ? ecbDaily() : ecbHistory(day);
    return new Map([...published].map(([code, v]) => [code, new D(v.toString())])).set('EUR', new D(1));
  };
  /** base→code on an ECB day as Fixer writes it: the ECB's digits in base EUR, else the exact cross to 6 places. */
  const fixerRate = (day: string, base: string, code: string) => {
    const rates = ecb(day);
    return base === 'EUR' ? rates.get(code)!.toFixed() : places(rates.get(code)!.div(rates.get(base)!), 6);
  };
  const fixerClient = (server = open, accessKey = 'any-key') =>
    (require('fixer-api') as FixerClient).set({ baseUrl: `${server.url}/fixer`, accessKey });

  it('fixer-api from npm, unmodified, configured by its base URL, reads latest, a date, timeseries and convert', async () => {
    const latest = await fixerClient().latest({ base: 'USD', symbols: ['GBP', 'JPY', 'EUR'] });
    expect(Object.keys(latest)).toEqual(['success', 'timestamp', 'base', 'date', 'rates']);
    expect(latest).toMatchObject({ success: true, base: 'USD', date: '2025-05-09' });
    expect(latest.rates).toEqual(Object.fromEntries(['EUR', 'GBP', 'JPY'].map((c) => [c, Number(fixerRate('2025-05-09', 'USD', c))])));
    // Fixer's default base is EUR: the ECB's own values, every one of them, and EUR itself.
    const eur = await fixerClient().latest();
    expect(eur).toMatchObject({ base: 'EUR', date: '2025-05-09' });
    expect(eur.rates).toEqual(Object.fromEntries([...ecb('2025-05-09')].map(([code, v]) => [code, v.toNumber()])));

    const day = await fixerClient().forDate('2024-03-28', { base: 'GBP', symbols: ['CHF', 'USD'] });
    expect(Object.keys(day)).toEqual(['success', 'historical', 'date', 'timestamp', 'base', 'rates']);
    expect(day).toMatchObject({ success: true, historical: true, date: '2024-03-28', base: 'GBP' });
    expect(day.rates).toEqual({ CHF: Number(fixerRate('2024-03-28', 'GBP', 'CHF')), USD: Number(fixerRate('2024-03-28', 'GBP', 'USD')) });
    // Easter Saturday: no publication that day nor the day before; the last one (Thursday's), under the date asked for.
    const saturday = await fixerClient().forDate('2024-03-30', { base: 'GBP', symbols: ['CHF', 'USD'] });
    expect(saturday).toMatchObject({ date: '2024-03-30', rates: day.rates, timestamp: day.timestamp });

    const series = await fixerClient().timeseries('2024-03-27', '2024-04-03', { base: 'GBP', symbols: ['CHF', 'USD'] });
    expect(Object.keys(series)).toEqual(['success', 'timeseries', 'start_date', 'end_date', 'base', 'rates']);
    expect(series).toMatchObject({ success: true, timeseries: true, start_date: '2024-03-27', end_date: '2024-04-03', base: 'GBP' });
    const days = ['2024-03-27', '2024-03-28', '2024-04-02', '2024-04-03'];
    const gbp = (d: string) => ({ CHF: Number(fixerRate(d, 'GBP', 'CHF')), USD: Number(fixerRate(d, 'GBP', 'USD')) });
    expect(series.rates).toEqual(Object.fromEntries(days.map((d) => [d, gbp(d)])));

    // The result is the rate shown times the amount, as in Fixer's example (148.972231 × 25 = 3724.305775).
    const rate = fixerRate('2024-03-28', 'GBP', 'JPY');
    const converted = await fixerClient().convert('GBP', 'JPY', 25, '2024-03-28');
    expect(Object.keys(converted)).toEqual(['success', 'query', 'info', 'historical', 'date', 'result']);
    expect(converted).toEqual({
      success: true,
      query: { from: 'GBP', to: 'JPY', amount: 25 },
      info: { timestamp: day.timestamp, rate: Number(rate) },
      historical: true,
      date: '2024-03-28',
      result: Number(new D(rate).times(25).toFixed()),
    });
    const now = await fixerClient().convert('EUR', 'USD', 1234.5);
    expect(Object.keys(now)).toEqual(['success', 'query', 'info', 'date', 'result']);
    const usd = ecb('2025-05-09').get('USD')!;
    expect(now).toMatchObject({
      query: { from: 'EUR', to: 'USD', amount: 1234.5 },
      info: { rate: usd.toNumber() },
      date: '2025-05-09',
      result: usd.times('1234.5').toNumber(),
    });

    const symbols = await fixerClient().symbols();
    expect(symbols.success).toBe(true);
    for (const code of ecb('2025-05-09').keys()) expect(typeof (symbols.symbols as Record<string, string>)[code], code).toBe('string');

    // With FXPIPE_API_TOKEN the token is the access key; the client's own error (its `type: info`) for any other.
    expect((await fixerClient(guarded, token).latest({ symbols: ['USD'] })).rates).toEqual({ USD: usd.toNumber() });
    await expect(fixerClient(guarded, `wrong-${token}`).latest()).rejects.toThrow(/^invalid_access_key: /);
    await expect(fixerClient().latest({ base: 'ZZZ' })).rejects.toThrow(/^invalid_base_currency: /);
  });

  it("fluctuation: start and end rates as Fixer writes them, change and change_pct to 4 places, from the ECB's files", async () => {
    const answer = await get('fluctuation?start_date=2024-03-30&end_date=2024-04-03&base=GBP&symbols=USD,CHF,JPY');
    expect(answer.status).toBe(200);
    expect(Object.keys(answer.body)).toEqual(['success', 'fluctuation', 'start_date', 'end_date', 'base', 'rates']);
    expect(answer.body).toMatchObject({ success: true, fluctuation: true, start_date: '2024-03-30', end_date: '2024-04-03', base: 'GBP' });
    for (const code of ['CHF', 'JPY', 'USD']) {
      // 2024-03-30 had no publication: the rates in force were Thursday's.
      const [first, last] = [fixerRate('2024-03-28', 'GBP', code), fixerRate('2024-04-03', 'GBP', code)];
      const change = new D(last).minus(first);
      expect(digits(answer.text, 'rates', code), code).toEqual({
        start_rate: first,
        end_rate: last,
        change: places(change, 4),
        change_pct: places(change.div(first).times(100), 4),
      });
    }
    expect(Object.keys(answer.body.rates as object)).toEqual(['CHF', 'JPY', 'USD']);
    // Base EUR: the ECB's own digits at both ends.
    const eur = await get('fluctuation?start_date=2024-01-02&end_date=2024-12-31&symbols=USD');
    const [first, last] = [ecb('2024-01-02').get('USD')!, ecb('2024-12-31').get('USD')!];
    expect(digits(eur.text, 'rates', 'USD')).toEqual({
      start_rate: first.toFixed(),
      end_rate: last.toFixed(),
      change: places(last.minus(first), 4),
      change_pct: places(last.minus(first).div(first).times(100), 4),
    });
  });

  it("every error is Fixer's {success: false, error: {code, type, info}}, with HTTP 200 as Fixer sends it and no-store", async () => {
    const cases: [string, number, string][] = [
      ['nothing/here', 103, 'invalid_api_function'],
      ['2024-1-9', 103, 'invalid_api_function'],
      ['1998-01-02', 106, 'no_rates_available'],
      ['2999-01-01', 106, 'no_rates_available'],
      ['timeseries?start_date=2010-01-01&end_date=2010-02-01', 106, 'no_rates_available'],
      ['latest?base=ZZZ', 201, 'invalid_base_currency'],
      ['latest?base=EURO', 201, 'invalid_base_currency'],
      ['2024-03-28?symbols=USD,ZZZ', 202, 'invalid_currency_codes'],
      ['latest?symbols=USD,DOLLARS', 202, 'invalid_currency_codes'],
      ['2024-02-30', 302, 'invalid_date'],
      ['convert?from=GBP&to=JPY&amount=1&date=2024-13-01', 302, 'invalid_date'],
      ['convert?to=JPY&amount=1', 401, 'invalid_from_currency'],
      ['convert?from=ZZZ&to=JPY&amount=1', 401, 'invalid_from_currency'],
      ['convert?from=GBP&to=ZZZ&amount=1', 402, 'invalid_to_currency'],
      ['convert?from=GBP&to=JPY', 403, 'invalid_conversion_amount'],
      ['convert?from=GBP&to=JPY&amount=-5', 403, 'invalid_conversion_amount'],
      ['convert?from=GBP&to=JPY&amount=0', 403, 'invalid_conversion_amount'],
      ['timeseries', 501, 'no_timeframe_supplied'],
      ['fluctuation?start_date=yyyy-mm-dd&end_date=2024-03-11', 502, 'invalid_start_date'],
      ['timeseries?start_date=2024-03-10', 503, 'invalid_end_date'],
      ['fluctuation?start_date=2024-03-10&end_date=2024-02-30', 503, 'invalid_end_date'],
      ['timeseries?start_date=2024-03-11&end_date=2024-03-10', 504, 'invalid_time_frame'],
      ['timeseries?start_date=2024-01-01&end_date=2025-01-01', 505, 'time_frame_too_long'],
    ];
    for (const [pathAndQuery, code, type] of cases) {
      const answer = await get(pathAndQuery);
      expect({ status: answer.status, body: answer.body }, pathAndQuery).toEqual({
        status: 200,
        body: { success: false, error: { code, type, info: matcher.any(String) } },
      });
      expect(answer.headers.get('cache-control'), pathAndQuery).toBe('no-store');
    }
    // 365 days is the longest timeframe Fixer takes.
    expect((await get('timeseries?start_date=2024-01-01&end_date=2024-12-31&symbols=USD')).body.success).toBe(true);
  });

  it("with FXPIPE_API_TOKEN: access_key (or apilayer's apikey header) must be the token, else 101", async () => {
    const error = (type: string) => ({ status: 200, body: { success: false, error: { code: 101, type, info: matcher.any(String) } } });
    for (const route of ['latest', '2024-03-28', 'symbols', 'nothing/here']) {
      expect(await get(route, guarded), route).toMatchObject(error('missing_access_key'));
      expect(await get(`${route}?access_key=`, guarded), route).toMatchObject(error('missing_access_key'));
      expect(await get(`${route}?access_key=wrong-${token}`, guarded), route).toMatchObject(error('invalid_access_key'));
    }
    expect((await get(`latest?access_key=${token}`, guarded)).body.success).toBe(true);
    expect((await get('latest', guarded, { apikey: token })).body.success).toBe(true);
    // The database down: a 503 in Fixer's shape (its code list has none for it), for every /fixer path.
    expect(familyOf('/fixer/latest')).toBe('fixer');
    const down = unavailableAnswer('fixer');
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({ success: false, error: { code: 500, type: 'service_unavailable', info: matcher.any(String) } });
  });
});
