import { describe, expect, it } from 'vitest';
import { SourceBreakers } from '../../src/sources/breaker.js';
import { extractLatest } from '../../src/sources/extract.js';
import { exchangerateApi } from '../../src/sources/exchangerate-api.js';
import { fetchWithPolicy } from '../../src/sources/http.js';
import { ExactNumber } from '../../src/sources/types.js';
import {
  attemptLog,
  extractFrom,
  extractionError,
  html,
  json,
  quoteTexts,
  readFixture,
  rejectionOf,
  replies,
  startServer,
  testPolicy,
} from './support.js';

const KEY = 'k3y-0123456789abcdef';
const keyed = { apiKey: KEY };
const success = readFixture('open-er-api-latest-USD-2024-01-09.json').replace('"rates":', '"conversion_rates":');

const ERROR_TYPES = [
  ['unsupported-code', 'the currency code is not supported'],
  ['malformed-request', 'the request is not in the form the API expects'],
  ['invalid-key', 'the API key is not valid'],
  ['inactive-account', 'the account is inactive'],
  ['quota-reached', 'the account has used all the requests its plan allows'],
] as const;

describe('exchangerate-api', () => {
  it('needs a key and puts it only in the real URL', () => {
    expect(exchangerateApi.needsKey).toBe(true);
    const request = exchangerateApi.latestRequest({ baseUrl: 'https://v6.exchangerate-api.com/', apiKey: KEY });
    expect(request.url).toBe(`https://v6.exchangerate-api.com/v6/${KEY}/latest/USD`);
    expect(request.redactedUrl).toBe('https://v6.exchangerate-api.com/v6/***/latest/USD');
    expect(request.secrets).toContain(KEY);
    expect(JSON.stringify(request.headers)).not.toContain(KEY);
    expect(JSON.stringify(request.params)).not.toContain(KEY);
  });

  it('fails with a config error when the key is missing', () => {
    expect(() => exchangerateApi.latestRequest({ baseUrl: 'https://v6.exchangerate-api.com' })).toThrow(
      expect.objectContaining({ kind: 'config', message: 'exchangerate-api: EXCHANGERATE_API_KEY is not set' }),
    );
  });

  it('parses conversion_rates from the keyed endpoint', async () => {
    const { extraction, server, attempts } = await extractFrom(exchangerateApi, json(success), keyed);
    expect(server.requests.map((request) => request.url)).toEqual([`/v6/${KEY}/latest/USD`]);
    expect(extraction).toMatchObject({ source: 'exchangerate-api', base: 'USD', requestedBase: 'USD' });
    expect(extraction.quotes).toHaveLength(162);
    expect(extraction.quotes[0]).toEqual({ code: 'USD', value: new ExactNumber('1') });
    expect(quoteTexts(extraction).get('AED')).toBe('3.6725');
    expect(JSON.stringify(attempts.map((attempt) => attempt.request))).not.toContain(KEY);
    expect(attempts[0]!.request.url).toBe(`${server.url}/v6/***/latest/USD`);
  });

  it.each(ERROR_TYPES)('reports %s by name with what it means', async (type, meaning) => {
    const error = await extractionError(exchangerateApi, json(`{"result":"error","error-type":"${type}"}`, 403), keyed);
    expect(error.kind).toBe('provider');
    expect(error.message).toContain(`exchangerate-api: ${type}: ${meaning}`);
    expect(error.message).not.toContain(KEY);
  });

  it('never lets the key into attempts (even echoed in a body), request headers or error messages, even when every attempt fails', async () => {
    const server = await startServer(replies(html(`<html>upstream error for /v6/${KEY}/latest/USD</html>`, 502)));
    const log = attemptLog();
    const error = await rejectionOf(
      extractLatest(exchangerateApi, { baseUrl: server.url, apiKey: KEY }, testPolicy, log.onAttempt, new SourceBreakers()),
    );
    await server.close();
    expect(error).toMatchObject({ kind: 'http', message: `exchangerate-api: HTTP 502 after 3 attempts (${server.url}/v6/***/latest/USD)` });
    expect(log.attempts).toHaveLength(3);
    for (const attempt of log.attempts) {
      expect(JSON.stringify(attempt.request)).not.toContain(KEY);
      expect(attempt.request.secrets).toEqual([]);
      expect(attempt.response!.body.toString()).toBe('<html>upstream error for /v6/***/latest/USD</html>');
    }
    expect(server.requests.every((request) => !JSON.stringify(request.headers).includes(KEY))).toBe(true);
  });

  it('keeps the key out of network error messages', async () => {
    const server = await startServer(replies(json('{}')));
    await server.close();
    const log = attemptLog();
    const request = exchangerateApi.latestRequest({ baseUrl: server.url, apiKey: KEY });
    const error = await rejectionOf(fetchWithPolicy('exchangerate-api', request, { ...testPolicy, retries: 1 }, log.onAttempt));
    expect(error).toMatchObject({ kind: 'network' });
    expect(error.message).toMatch(
      /^exchangerate-api: connect ECONNREFUSED .* after 2 attempts \(http:\/\/127\.0\.0\.1:\d+\/v6\/\*\*\*\/latest\/USD\)$/,
    );
    expect(log.attempts.map((attempt) => attempt.error)).toEqual([
      expect.stringContaining('ECONNREFUSED'),
      expect.stringContaining('ECONNREFUSED'),
    ]);
    expect(JSON.stringify(log.attempts)).not.toContain(KEY);
  });
});
