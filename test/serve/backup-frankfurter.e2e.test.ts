import { parse as parseLossless, type LosslessNumber } from 'lossless-json';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RateDecimal } from '../../src/transform/decimal.js';
import { backupWarehouse, digits, ecbDaily, ecbHistory, OPEN_ER, type BackupWarehouse } from './backup-support.js';
import { startServe, type Served } from './support.js';
import { matcher } from '../helpers/matcher.js';

/**
 * `fxpipe serve` answering as Frankfurter v1 (docs/backup.md), from a warehouse loaded with the real provider files
 * in test/fixtures: open.er-api's answer of 2024-01-09, the ECB's daily file of 2025-05-09 and its 2024 history.
 * The expected answers are those files' values: exactly as published where the source published the rate asked for (its
 * own base, amount 1), else worked out here as Frankfurter works them out — in binary floats, rounded by
 * lib/roundable.rb's magnitude bands with format('%.Nf') and Float#round — never read back from the warehouse.
 */
function frankfurter(value: RateDecimal | number): string {
  const x = Number(value);
  const places = x > 5000 ? null : x > 80 ? 2 : x > 20 ? 3 : x > 1 ? 4 : x > 0.0001 ? 5 : 6;
  return String(places === null ? Math.round(x) : Number(x.toFixed(places)));
}
/** Each rate's digits as written, read as numbers (what a client reads). */
const numbers = (rates: Record<string, string>) =>
  Object.fromEntries(Object.entries(rates).map(([code, text]) => [code, String(Number(text))]));

interface Answer {
  status: number;
  body: Record<string, unknown>;
  /** Each rate's digits as written. */
  text: string;
}

describe('fxpipe serve as Frankfurter v1', () => {
  let w: BackupWarehouse;
  let served: Served;
  let tokenServed: Served;
  const token = 'frankfurter-token-0123456789';

  beforeAll(async () => {
    w = await backupWarehouse();
    served = await startServe(w.database, w.home);
    tokenServed = await startServe(w.database, w.home, { FXPIPE_API_TOKEN: token });
  }, 300_000);

  afterAll(async () => {
    await served?.stop();
    await tokenServed?.stop();
    await w?.close();
  });

  async function get(pathAndQuery: string, server = served, headers: Record<string, string> = {}): Promise<Answer> {
    const response = await fetch(`${server.url}/frankfurter/v1/${pathAndQuery}`, { headers });
    const text = await response.text();
    return { status: response.status, body: JSON.parse(text) as Record<string, unknown>, text };
  }
  it("a day open.er-api published: every rate exactly as it published it, fields in Frankfurter's order", async () => {
    const answer = await get('2024-01-09?base=USD&source=open-er-api');
    expect(answer.status).toBe(200);
    expect(Object.keys(answer.body)).toEqual(['amount', 'base', 'date', 'rates']);
    expect(answer.body).toMatchObject({ amount: 1, base: 'USD', date: '2024-01-09' });
    expect(answer.text.startsWith('{"amount":1.0,"base":"USD","date":"2024-01-09","rates":{')).toBe(true);
    const published = parseLossless(OPEN_ER.toString()) as { rates: Record<string, LosslessNumber> };
    const expected = Object.fromEntries(
      Object.entries(published.rates)
        .filter(([code]) => code !== 'USD')
        .map(([code, value]) => [code, value.toString()]),
    );
    expect(digits(answer.text, 'rates')).toEqual(expected);
    // Alphabetical, as Frankfurter lists them.
    expect(Object.keys(digits(answer.text, 'rates'))).toEqual(Object.keys(expected).sort());
  });

  it("a weekend answers the last publishing day with that day's own date", async () => {
    const saturday = await get('2024-01-13?base=USD&source=open-er-api&symbols=EUR,GBP');
    expect(saturday.body).toEqual({
      amount: 1,
      base: 'USD',
      date: '2024-01-09',
      rates: { EUR: matcher.any(Number), GBP: matcher.any(Number) },
    });
    const ecbSaturday = await get('2024-01-13?base=EUR&symbols=USD&source=ecb');
    expect(ecbSaturday.body).toMatchObject({
      base: 'EUR',
      date: '2024-01-12',
      rates: { USD: Number(ecbHistory('2024-01-12').get('USD')!.toFixed()) },
    });
  });

  it("the ECB's day in USD: each rate the ECB's EUR value over its EUR→USD, rounded by Frankfurter's magnitude bands", async () => {
    const answer = await get('2025-05-09?base=USD&source=ecb');
    const ecb = ecbDaily();
    const usd = Number(ecb.get('USD')!);
    const expected = Object.fromEntries(
      [...ecb].filter(([code]) => code !== 'USD').map(([code, eur]) => [code, frankfurter(Number(eur) / usd)]),
    );
    expected.EUR = frankfurter(1 / usd);
    expect(answer.body).toMatchObject({ amount: 1, base: 'USD', date: '2025-05-09' });
    expect(numbers(digits(answer.text, 'rates'))).toEqual(
      Object.fromEntries(Object.entries(expected).sort(([a], [b]) => a.localeCompare(b))),
    );
    // The figure the provider's own documentation shows for that day.
    expect(digits(answer.text, 'rates').AUD).toBe('1.5617');
    // amount multiplies before the one rounding.
    const hundred = await get('2025-05-09?from=USD&to=JPY&amount=100&source=ecb');
    expect(hundred.text).toBe(
      `{"amount":100.0,"base":"USD","date":"2025-05-09","rates":{"JPY":${frankfurter((Number(ecb.get('JPY')!) / usd) * 100)}}}`,
    );
  });

  it("the figures Frankfurter gives for 2024-08-12: USD→KRW 1370.78 and USD→ZAR 18.2194; base EUR the ECB's own 1497.58 and 19.9047", async () => {
    const usd = await get('2024-08-12?base=USD&symbols=KRW,ZAR,IDR,GBP&source=ecb');
    expect(digits(usd.text, 'rates')).toEqual({ GBP: '0.7831', IDR: '15967', KRW: '1370.78', ZAR: '18.2194' });
    const ecb = ecbHistory('2024-08-12');
    for (const code of ['GBP', 'IDR', 'KRW', 'ZAR'])
      expect(digits(usd.text, 'rates')[code]).toBe(frankfurter(Number(ecb.get(code)) / Number(ecb.get('USD'))));
    const eur = await get('2024-08-12?symbols=KRW,ZAR,IDR,GBP,USD&source=ecb');
    expect(digits(eur.text, 'rates')).toEqual({ GBP: '0.85554', IDR: '17444', KRW: '1497.58', USD: '1.0925', ZAR: '19.9047' });
    // Any amount but 1 is a computed value, rounded by the bands.
    const ten = await get('2024-08-12?symbols=KRW,GBP&amount=10&source=ecb');
    expect(digits(ten.text, 'rates')).toEqual({ GBP: frankfurter(8.5554), KRW: frankfurter(14975.8) });
  });

  it("a range over Easter lists the ECB's publishing days only; start.. runs to the last; /history answers the same", async () => {
    const answer = await get('2024-03-27..2024-04-03?base=EUR&symbols=USD,JPY&source=ecb');
    expect(Object.keys(answer.body)).toEqual(['amount', 'base', 'start_date', 'end_date', 'rates']);
    expect(answer.body).toMatchObject({ amount: 1, base: 'EUR', start_date: '2024-03-27', end_date: '2024-04-03' });
    const days = ['2024-03-27', '2024-03-28', '2024-04-02', '2024-04-03'];
    expect(Object.keys(answer.body.rates as object)).toEqual(days);
    for (const day of days) {
      const ecb = ecbHistory(day);
      // Base EUR, amount 1: the ECB's own digits, unrounded.
      expect(digits(answer.text, 'rates', day), day).toEqual({ JPY: ecb.get('JPY')!.toFixed(), USD: ecb.get('USD')!.toFixed() });
    }
    // To today: the history's last days, then the daily file's day.
    const open = await get('2024-12-20..?base=EUR&symbols=USD&source=ecb');
    expect(open.body).toMatchObject({ start_date: '2024-12-20', end_date: '2025-05-09' });
    expect(Object.keys(open.body.rates as object)).toEqual([
      '2024-12-20',
      '2024-12-23',
      '2024-12-24',
      '2024-12-27',
      '2024-12-30',
      '2024-12-31',
      '2025-05-09',
    ]);
    const history = await get('history?start_at=2024-03-27&end_at=2024-04-03&base=EUR&symbols=USD,JPY&source=ecb');
    expect(history.body.rates).toEqual(answer.body.rates);
    expect(history.body).toMatchObject({ start_at: '2024-03-27', end_at: '2024-04-03' });
  });

  it('answers errors as Frankfurter does: 404 {"message":"not found"} for an unknown currency, a malformed date, one before the data or a reversed range; 422 for a day the calendar has not or a bad amount', async () => {
    for (const pathAndQuery of [
      'latest?base=ZZZ',
      '2024-01-09?base=USD&symbols=EUR,ZZZ',
      '2024-1-9',
      '1998-12-31',
      '2024-04-03..2024-03-27',
      'nothing/here',
    ]) {
      expect(await get(pathAndQuery), pathAndQuery).toMatchObject({ status: 404, body: { message: 'not found' } });
    }
    expect(await get('2024-02-30')).toMatchObject({ status: 422, body: { message: 'invalid date' } });
    expect(await get('2024-01-09?amount=-5')).toMatchObject({ status: 422, body: { message: 'amount must be a positive number' } });
  });

  it('with FXPIPE_API_TOKEN: the token as a bearer header or ?token=, else 401', async () => {
    expect((await get('2024-01-09?base=USD', tokenServed)).status).toBe(401);
    expect((await get('2024-01-09?base=USD', tokenServed, { authorization: `Bearer ${token}` })).status).toBe(200);
    expect((await get(`2024-01-09?base=USD&token=${token}`, tokenServed)).status).toBe(200);
    expect((await get(`2024-01-09?base=USD&token=wrong-${token}`, tokenServed)).status).toBe(401);
  });

  it("exchange-rates-api from npm, unmodified, pointed at fxpipe by its base-URL setting, gets the ECB's rates as Frankfurter rounds them", async () => {
    const { exchangeRates } = (await import('exchange-rates-api')) as unknown as { exchangeRates: () => ExchangeRatesClient };
    const client = () => exchangeRates().setApiBaseUrl(`${served.url}/frankfurter`);
    // base→code from the ECB's file, as Frankfurter rounds a rate it computes.
    const ecbRate = (day: string, base: string, code: string) => {
      const ecb = new Map([...ecbHistory(day), ['EUR', new RateDecimal(1)]]);
      return Number(frankfurter(Number(ecb.get(code)!) / Number(ecb.get(base)!)));
    };
    // 2024-01-09: the ECB ranks first on that day (a primary, alphabetically before open-er-api).
    const day = (await client().at('2024-01-09').base('USD').symbols(['EUR', 'GBP', 'JPY']).fetch()) as Record<string, number>;
    for (const code of ['EUR', 'GBP', 'JPY']) expect(day[code], code).toBe(ecbRate('2024-01-09', 'USD', code));
    const series = (await client().from('2024-03-27').to('2024-04-03').base('GBP').symbols(['CHF', 'USD']).fetch()) as Record<
      string,
      Record<string, number>
    >;
    expect(Object.keys(series).sort()).toEqual(['2024-03-27', '2024-03-28', '2024-04-02', '2024-04-03']);
    for (const [date, rates] of Object.entries(series)) {
      for (const code of ['CHF', 'USD']) {
        expect(rates[code], `${date} ${code}`).toBe(ecbRate(date, 'GBP', code));
      }
    }
  });
});

interface ExchangeRatesClient {
  setApiBaseUrl(url: string): ExchangeRatesClient;
  at(day: string): ExchangeRatesClient;
  from(day: string): ExchangeRatesClient;
  to(day: string): ExchangeRatesClient;
  base(code: string): ExchangeRatesClient;
  symbols(codes: string | string[]): ExchangeRatesClient;
  fetch(): Promise<unknown>;
}
