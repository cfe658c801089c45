import { Decimal } from 'decimal.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ecbBusinessDays } from '../../src/calendar/ecb.js';
import { createMarket, type Market } from '../../src/demo/market.js';
import { faults, type ProviderServer, startProviderServer } from '../../src/demo/provider-server.js';
import { renderEcbDaily } from '../../src/demo/providers/ecb.js';
import { frankfurterRates } from '../../src/demo/providers/frankfurter.js';
import { ECB_FIXTURE, ecbXmlRates, numberTokens, OPEN_ER_API_FIXTURE, readFixture } from './fixtures.js';

const SEED = 11;
const START = new Date('2024-01-09T00:00:00Z');
const API_KEY = 'demo-key-0123456789';

let now: Date;
let market: Market;
let server: ProviderServer;

beforeAll(async () => {
  market = createMarket({ seed: SEED, start: START });
  server = await startProviderServer({ market, clock: () => now, apiKey: API_KEY });
});
afterAll(async () => server.close());
afterEach(() => server.clearFaults());

async function get(url: string, at: string, init?: RequestInit): Promise<{ status: number; headers: Headers; text: string }> {
  now = new Date(at);
  const response = await fetch(url, init);
  return { status: response.status, headers: response.headers, text: await response.text() };
}

const openErApiUrl = () => `${server.baseUrls['open-er-api']}/v6/latest/USD`;
const exchangerateApiUrl = (key = API_KEY) => `${server.baseUrls['exchangerate-api']}/v6/${key}/latest/USD`;
const frankfurterUrl = (path = '/v1/latest', base = 'USD') => `${server.baseUrls.frankfurter}${path}?base=${base}`;
const ecbUrl = () => `${server.baseUrls.ecb}/eurofxref-daily.xml`;

/** Each key with the JSON type of its value, in order. */
function shape(value: Record<string, unknown>): [string, string][] {
  return Object.entries(value).map(([key, member]) => [key, member === null ? 'null' : typeof member]);
}

describe('the simulated open-er-api', () => {
  const fixture = readFixture(OPEN_ER_API_FIXTURE);

  it('serves the seed file byte for byte on the seed day', async () => {
    const response = await get(openErApiUrl(), '2024-01-09T10:00:00Z');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.text).toBe(fixture);
  });

  it("serves another day in the seed's exact shape, with that day's update times", async () => {
    const { text } = await get(openErApiUrl(), '2024-02-29T17:45:00Z');
    const payload = JSON.parse(text) as Record<string, unknown>;
    const seed = JSON.parse(fixture) as Record<string, unknown>;
    expect(shape(payload)).toEqual(shape(seed));
    expect(numberTokens(text, 'rates').map(([code]) => code)).toEqual(numberTokens(fixture, 'rates').map(([code]) => code));
    expect(payload).toMatchObject({
      time_last_update_unix: Date.parse('2024-02-29T00:02:31Z') / 1000,
      time_last_update_utc: 'Thu, 29 Feb 2024 00:02:31 +0000',
      time_next_update_unix: Date.parse('2024-03-01T00:10:21Z') / 1000,
      time_next_update_utc: 'Fri, 01 Mar 2024 00:10:21 +0000',
      base_code: 'USD',
    });
    expect(numberTokens(text, 'rates')).toEqual([...market.usdRates('2024-02-29')]);
  });

  it('changes its rates once a day, at 00:02:31 UTC', async () => {
    const early = await get(openErApiUrl(), '2024-01-12T00:02:31Z');
    for (const at of ['2024-01-12T08:00:00Z', '2024-01-12T23:59:59Z', '2024-01-13T00:02:30Z']) {
      expect((await get(openErApiUrl(), at)).text, at).toBe(early.text);
    }
    const next = await get(openErApiUrl(), '2024-01-13T00:02:31Z');
    expect(next.text).not.toBe(early.text);
    expect(numberTokens(next.text, 'rates')).not.toEqual(numberTokens(early.text, 'rates'));
  });

  it('gives identical bytes for the same seed and day, whatever the order of requests', async () => {
    const days = ['2024-03-05', '2024-01-20', '2023-12-30', '2024-02-11'];
    const first: string[] = [];
    for (const day of days) first.push((await get(openErApiUrl(), `${day}T12:00:00Z`)).text);
    const twin = await startProviderServer({ market: createMarket({ seed: SEED, start: START }), clock: () => now });
    try {
      const reversed: string[] = [];
      for (const day of [...days].reverse())
        reversed.unshift((await get(`${twin.baseUrls['open-er-api']}/v6/latest/USD`, `${day}T12:00:00Z`)).text);
      expect(reversed).toEqual(first);
    } finally {
      await twin.close();
    }
  });

  it('answers unsupported-code for another base', async () => {
    const response = await get(`${server.baseUrls['open-er-api']}/v6/latest/EUR`, '2024-01-09T10:00:00Z');
    expect(response.status).toBe(404);
    expect(JSON.parse(response.text)).toEqual({ result: 'error', 'error-type': 'unsupported-code' });
  });
});

describe('the simulated exchangerate-api', () => {
  it('serves conversion_rates with 4 decimals in the documented shape, for the right key only', async () => {
    const { status, text } = await get(exchangerateApiUrl(), '2024-01-15T09:00:00Z');
    expect(status).toBe(200);
    const payload = JSON.parse(text) as Record<string, unknown>;
    expect(shape(payload)).toEqual([
      ['result', 'string'],
      ['documentation', 'string'],
      ['terms_of_use', 'string'],
      ['time_last_update_unix', 'number'],
      ['time_last_update_utc', 'string'],
      ['time_next_update_unix', 'number'],
      ['time_next_update_utc', 'string'],
      ['base_code', 'string'],
      ['conversion_rates', 'object'],
    ]);
    expect(payload).toMatchObject({ result: 'success', time_last_update_utc: 'Mon, 15 Jan 2024 00:00:01 +0000', base_code: 'USD' });
    const open = market.usdRates('2024-01-15');
    const rates = numberTokens(text, 'conversion_rates');
    expect(rates.map(([code]) => code)).toEqual([...open.keys()]);
    for (const [code, value] of rates)
      expect(new Decimal(value).eq(new Decimal(open.get(code) as string).toDecimalPlaces(4)), code).toBe(true);
  });

  it('refuses a wrong key with invalid-key', async () => {
    const response = await get(exchangerateApiUrl('not-the-key'), '2024-01-15T09:00:00Z');
    expect(response.status).toBe(403);
    expect(JSON.parse(response.text)).toEqual({ result: 'error', 'error-type': 'invalid-key' });
  });
});

describe('the simulated ECB', () => {
  const fixture = readFixture(ECB_FIXTURE);

  it("renders the seed file's exact layout", () => {
    expect(renderEcbDaily(fixture, '2025-05-09', ecbXmlRates(fixture))).toBe(fixture);
  });

  it('serves the latest published business day in that layout', async () => {
    const { status, headers, text } = await get(ecbUrl(), '2024-01-12T15:30:00Z');
    expect(status).toBe(200);
    expect(headers.get('content-type')).toBe('text/xml');
    const placeholders = (xml: string) => xml.replace(/time='[^']+'/, "time='DAY'").replace(/rate='[^']+'/g, "rate='RATE'");
    expect(placeholders(text)).toBe(placeholders(fixture));
    expect(text).toContain("<Cube time='2024-01-12'>");
    expect(ecbXmlRates(text)).toEqual(market.ecbRates('2024-01-12'));
  });

  it('keeps the previous business day before 16:00 Frankfurt time and over the weekend', async () => {
    const day = async (at: string) => /time='([^']+)'/.exec((await get(ecbUrl(), at)).text)?.[1];
    expect(await day('2024-01-12T14:59:00Z')).toBe('2024-01-11');
    expect(await day('2024-01-13T12:00:00Z')).toBe('2024-01-12');
    expect(await day('2024-01-15T12:00:00Z')).toBe('2024-01-12');
    expect(await day('2024-01-15T15:00:00Z')).toBe('2024-01-15');
  });
});

describe('the simulated Frankfurter', () => {
  it('rounds and rebases as Frankfurter does (the README example: 2025-05-09 AUD 1.5617)', () => {
    const rates = new Map(frankfurterRates(ecbXmlRates(readFixture(ECB_FIXTURE)), 'USD'));
    expect(rates.get('AUD')).toBe('1.5617');
    expect(rates.get('IDR')).toBe('16537');
    expect(rates.get('EUR')).toBe('0.88873');
    expect(rates.has('USD')).toBe(false);
  });

  it('serves latest rebased to USD: amount 1.0, keys A–Z, EUR in, USD out', async () => {
    const { status, headers, text } = await get(frankfurterUrl(), '2024-01-16T16:00:00Z');
    expect(status).toBe(200);
    expect(headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(text).toMatch(/^\{"amount":1\.0,"base":"USD","date":"2024-01-16","rates":\{"AUD":/);
    const payload = JSON.parse(text) as { rates: Record<string, number> };
    expect(shape(payload)).toEqual([
      ['amount', 'number'],
      ['base', 'string'],
      ['date', 'string'],
      ['rates', 'object'],
    ]);
    const ecb = market.ecbRates('2024-01-16');
    const codes = Object.keys(payload.rates);
    expect(codes).toEqual([...codes].sort());
    expect(new Set(codes)).toEqual(new Set([...ecb.keys()].filter((code) => code !== 'USD').concat('EUR')));
    const eurToUsd = new Decimal(ecb.get('USD') as string);
    for (const [code, value] of Object.entries(payload.rates)) {
      const exact = code === 'EUR' ? new Decimal(1).div(eurToUsd) : new Decimal(ecb.get(code) as string).div(eurToUsd);
      expect(new Decimal(value).minus(exact).abs().div(exact).toNumber(), code).toBeLessThan(5e-4);
    }
  });

  it('follows the ECB calendar and 404s an unknown base', async () => {
    const date = async (at: string) => (JSON.parse((await get(frankfurterUrl(), at)).text) as { date: string }).date;
    expect(await date('2024-01-16T14:00:00Z')).toBe('2024-01-15');
    expect(await date('2024-01-20T10:00:00Z')).toBe('2024-01-19');
    const unknown = await get(frankfurterUrl('/v1/latest', 'XYZ'), '2024-01-16T16:00:00Z');
    expect(unknown.status).toBe(404);
    expect(unknown.text).toBe('{"message":"not found"}');
  });

  it('serves a time series of published business days only, each as latest served it', async () => {
    const { status, text } = await get(frankfurterUrl('/v1/2024-03-24..2024-04-30'), '2024-04-05T12:00:00Z');
    expect(status).toBe(200);
    const payload = JSON.parse(text) as { start_date: string; end_date: string; rates: Record<string, Record<string, number>> };
    expect(shape(payload)).toEqual([
      ['amount', 'number'],
      ['base', 'string'],
      ['start_date', 'string'],
      ['end_date', 'string'],
      ['rates', 'object'],
    ]);
    // From the last business day on or before the start (Friday 22nd) to the last published (Thursday 4th, before 16:00 on the 5th).
    const expectedDays = ecbBusinessDays('2024-03-22', '2024-04-04');
    expect(expectedDays).not.toContain('2024-03-29');
    expect(expectedDays).not.toContain('2024-04-01');
    expect(Object.keys(payload.rates)).toEqual(expectedDays);
    expect([payload.start_date, payload.end_date]).toEqual(['2024-03-22', '2024-04-04']);
    const latestOn = JSON.parse((await get(frankfurterUrl(), '2024-03-27T17:00:00Z')).text) as { rates: Record<string, number> };
    expect(payload.rates['2024-03-27']).toEqual(latestOn.rates);
  });

  it('404s a series that starts in the future and 422s an impossible date', async () => {
    expect((await get(frankfurterUrl('/v1/2024-05-01..2024-05-10'), '2024-04-05T12:00:00Z')).status).toBe(404);
    const invalid = await get(frankfurterUrl('/v1/2024-02-30..2024-03-10'), '2024-04-05T12:00:00Z');
    expect(invalid.status).toBe(422);
  });
});

describe('the provider server', () => {
  it('maps every source to its base URL and FXPIPE_<SOURCE>_URL', () => {
    expect(server.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.env).toEqual({
      FXPIPE_OPEN_ER_API_URL: `${server.origin}/open-er-api`,
      FXPIPE_EXCHANGERATE_API_URL: `${server.origin}/exchangerate-api`,
      FXPIPE_FRANKFURTER_URL: `${server.origin}/frankfurter`,
      FXPIPE_ECB_URL: `${server.origin}/ecb`,
    });
  });

  it('404s unknown paths', async () => {
    expect((await get(`${server.origin}/nowhere`, '2024-01-09T10:00:00Z')).status).toBe(404);
    expect((await get(`${server.baseUrls.ecb}/eurofxref-hist.zip`, '2024-01-09T10:00:00Z')).status).toBe(404);
  });

  it('logs each provider request with its path, status and simulated time', async () => {
    const before = server.requests.length;
    await get(frankfurterUrl(), '2024-01-16T16:00:00Z');
    await get(exchangerateApiUrl('wrong-key'), '2024-01-17T01:00:00Z');
    expect(server.requests.slice(before)).toEqual([
      { source: 'frankfurter', path: '/v1/latest?base=USD', status: 200, at: new Date('2024-01-16T16:00:00Z') },
      { source: 'exchangerate-api', path: '/v6/wrong-key/latest/USD', status: 403, at: new Date('2024-01-17T01:00:00Z') },
    ]);
  });
});

describe('faults', () => {
  const at = '2024-01-10T12:00:00Z';

  it('an HTML error page, for as many requests as asked, then the normal response', async () => {
    server.injectFault('open-er-api', faults.htmlError(502), 2);
    for (let i = 0; i < 2; i++) {
      const response = await get(openErApiUrl(), at);
      expect(response.status).toBe(502);
      expect(response.headers.get('content-type')).toBe('text/html');
      expect(response.text).toContain('<title>502 Bad Gateway</title>');
    }
    expect((await get(openErApiUrl(), at)).status).toBe(200);
  });

  it('only hits the source it was injected for', async () => {
    server.injectFault('frankfurter', faults.htmlError(500));
    expect((await get(openErApiUrl(), at)).status).toBe(200);
    expect((await get(frankfurterUrl(), at)).status).toBe(500);
  });

  it('429 with Retry-After', async () => {
    server.injectFault('exchangerate-api', faults.rateLimited(30));
    const response = await get(exchangerateApiUrl(), at);
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('30');
  });

  it('an outage lasts until cleared', async () => {
    server.injectFault('open-er-api', faults.outage());
    for (let i = 0; i < 5; i++) expect((await get(openErApiUrl(), at)).status).toBe(503);
    server.clearFaults('open-er-api');
    expect((await get(openErApiUrl(), at)).status).toBe(200);
  });

  it('a status fault with any body and headers, and a 200 with a foreign body', async () => {
    server.injectFault('ecb', { kind: 'status', status: 404, body: 'gone', contentType: 'text/plain', headers: { 'x-cache': 'MISS' } });
    const gone = await get(ecbUrl(), at);
    expect([gone.status, gone.text, gone.headers.get('x-cache')]).toEqual([404, 'gone', 'MISS']);
    server.injectFault('ecb', { kind: 'body', body: '<!DOCTYPE html><html><body>Maintenance</body></html>', contentType: 'text/html' });
    const page = await get(ecbUrl(), at);
    expect([page.status, page.headers.get('content-type'), page.text]).toEqual([
      200,
      'text/html',
      '<!DOCTYPE html><html><body>Maintenance</body></html>',
    ]);
  });

  it('a truncated response announces its full length, stops short and ends the connection', async () => {
    server.injectFault('open-er-api', faults.truncated(100));
    now = new Date(at);
    const response = await fetch(openErApiUrl());
    expect(response.status).toBe(200);
    expect(Number(response.headers.get('content-length'))).toBeGreaterThan(100);
    await expect(response.text()).rejects.toThrow();
    expect((await get(openErApiUrl(), at)).status).toBe(200);
  });

  it('a slow response trips a client timeout, or arrives late and whole', async () => {
    server.injectFault('frankfurter', faults.slow(400), 2);
    await expect(get(frankfurterUrl(), at, { signal: AbortSignal.timeout(100) })).rejects.toThrow();
    const started = performance.now();
    const late = await get(frankfurterUrl(), at);
    expect(performance.now() - started).toBeGreaterThanOrEqual(350);
    expect(late.status).toBe(200);
    expect(JSON.parse(late.text)).toHaveProperty('rates');
  });

  it('closes promptly despite keep-alive connections and a pending slow response', async () => {
    const local = await startProviderServer({ market, clock: () => new Date(at) });
    await fetch(`${local.baseUrls.ecb}/eurofxref-daily.xml`).then((response) => response.text());
    local.injectFault('ecb', faults.slow(60_000));
    const pending = fetch(`${local.baseUrls.ecb}/eurofxref-daily.xml`).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();
    await local.close();
    expect(performance.now() - started).toBeLessThan(1000);
    expect(await pending).toBeInstanceOf(Error);
  });
});
