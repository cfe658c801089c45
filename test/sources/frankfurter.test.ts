import { describe, expect, it } from 'vitest';
import { fetchWithPolicy } from '../../src/sources/http.js';
import { frankfurter, parseTimeSeries, timeSeriesRequest } from '../../src/sources/frankfurter.js';
import { ExactNumber } from '../../src/sources/types.js';
import { attemptLog, extractFrom, extractionError, json, quoteTexts, readFixture, replies, startServer, testPolicy } from './support.js';

/** Frankfurter's USD view of the ECB fixture's day: every ECB currency but USD, plus EUR, as USD→X. */
function rebasedEcbRates(): [string, string][] {
  const ecbRates = [...readFixture('ecb-eurofxref-daily-2025-05-09.xml').matchAll(/currency='([A-Z]{3})' rate='([^']+)'/g)].map(
    (match) => [match[1]!, Number(match[2])] as const,
  );
  const eurUsd = ecbRates.find(([code]) => code === 'USD')![1];
  return [['EUR', 1 / eurUsd] as const, ...ecbRates.filter(([code]) => code !== 'USD')]
    .map(([code, rate]) => [code, code === 'EUR' ? rate : rate / eurUsd] as const)
    .map(([code, rate]) => [code, rate.toPrecision(5)]);
}

const ratesJson = (rates: [string, string][]) => `{${rates.map(([code, rate]) => `"${code}":${rate}`).join(',')}}`;
const latest = (date: string, rates = rebasedEcbRates()) => `{"amount":1.0,"base":"USD","date":"${date}","rates":${ratesJson(rates)}}`;

describe('frankfurter', () => {
  it('parses the latest rates: the ECB currencies against USD, as-of 16:00 Frankfurt time', async () => {
    const { extraction, server } = await extractFrom(frankfurter, json(latest('2025-05-09')));
    expect(server.requests.map((request) => request.url)).toEqual(['/v1/latest?base=USD']);
    expect(extraction).toMatchObject({ source: 'frankfurter', base: 'USD', requestedBase: 'USD' });
    expect(extraction.asOf.toISOString()).toBe('2025-05-09T14:00:00.000Z');
    expect(extraction.quotes).toHaveLength(30);
    expect(extraction.quotes.some((quote) => quote.code === 'USD')).toBe(false);
    expect(extraction.quotes[0]).toEqual({ code: 'EUR', value: new ExactNumber('0.88873') });
    expect(quoteTexts(extraction).get('JPY')).toBe('145.18');
  });

  it('puts a winter date at 15:00 UTC', async () => {
    const { extraction } = await extractFrom(frankfurter, json(latest('2024-01-02', [['EUR', '0.91075']])));
    expect(extraction.asOf.toISOString()).toBe('2024-01-02T15:00:00.000Z');
  });

  it.each([404, 422])('reports {"message":"not found"} with HTTP %i as a provider error', async (status) => {
    const error = await extractionError(frankfurter, json('{"message":"not found"}', status));
    expect(error).toMatchObject({ kind: 'provider', message: `frankfurter: provider error "not found" (HTTP ${status})` });
  });

  it('rejects rates for an amount other than 1, and a date that is not a date', async () => {
    const hundred = latest('2025-05-09').replace('"amount":1.0', '"amount":100');
    expect((await extractionError(frankfurter, json(hundred))).message).toBe(
      'frankfurter: field amount: expected 1 (rates for another amount are not rates)',
    );
    expect((await extractionError(frankfurter, json(latest('9 May 2025')))).message).toMatch(/^frankfurter: field date: /);
  });

  it('builds the time-series request and parses one extraction per published date', async () => {
    const body = `{"amount":1.0,"base":"USD","start_date":"2024-03-28","end_date":"2024-04-02","rates":{
      "2024-03-28":{"EUR":0.92584,"JPY":151.33},"2024-04-02":{"EUR":0.93101,"JPY":151.61}}}`;
    const server = await startServer(replies(json(body)));
    const request = timeSeriesRequest({ baseUrl: `${server.url}/` }, '2024-03-25', '2024-04-02');
    expect(request.redactedUrl).toBe(`${server.url}/v1/2024-03-25..2024-04-02?base=USD`);
    expect(request.params).toEqual({ base: 'USD' });
    const response = await fetchWithPolicy('frankfurter', request, testPolicy, attemptLog().onAttempt);
    await server.close();
    const extractions = parseTimeSeries(response);
    expect(extractions.map((extraction) => [extraction.asOf.toISOString(), extraction.quotes])).toEqual([
      [
        '2024-03-28T15:00:00.000Z',
        [
          { code: 'EUR', value: new ExactNumber('0.92584') },
          { code: 'JPY', value: new ExactNumber('151.33') },
        ],
      ],
      [
        '2024-04-02T14:00:00.000Z',
        [
          { code: 'EUR', value: new ExactNumber('0.93101') },
          { code: 'JPY', value: new ExactNumber('151.61') },
        ],
      ],
    ]);
    expect(extractions.every((extraction) => extraction.source === 'frankfurter' && extraction.base === 'USD')).toBe(true);
  });

  it('refuses a time series with bad dates', () => {
    expect(() => timeSeriesRequest({ baseUrl: 'https://api.frankfurter.dev' }, '2024-04-02', '2024-03-25')).toThrow(
      'the start is after the end',
    );
    expect(() => timeSeriesRequest({ baseUrl: 'https://api.frankfurter.dev' }, '2024-13-01', '2024-12-31')).toThrow(RangeError);
  });
});
