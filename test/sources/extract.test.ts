import { describe, expect, it } from 'vitest';
import { SourceBreakers } from '../../src/sources/breaker.js';
import { exchangerateApi } from '../../src/sources/exchangerate-api.js';
import { extractLatest } from '../../src/sources/extract.js';
import { frankfurter } from '../../src/sources/frankfurter.js';
import { attemptLog, html, json, rejectionOf, replies, startServer, testPolicy } from './support.js';

const fastFail = { ...testPolicy, retries: 0 };
const latest = '{"amount":1.0,"base":"USD","date":"2025-05-09","rates":{"EUR":0.88873}}';

describe('extractLatest', () => {
  it('fetches and parses through its breaker', async () => {
    const server = await startServer(replies(json(latest)));
    const log = attemptLog();
    const extraction = await extractLatest(frankfurter, { baseUrl: server.url }, fastFail, log.onAttempt, new SourceBreakers());
    await server.close();
    expect(extraction.quotes).toHaveLength(1);
    expect(log.attempts).toHaveLength(1);
  });

  it('opens the circuit after 3 failed extractions and then fails fast without calling the source', async () => {
    const server = await startServer(replies(html('<html>down</html>', 500)));
    const settings = { baseUrl: server.url };
    const log = attemptLog();
    const breakers = new SourceBreakers();
    for (let run = 0; run < 3; run++) {
      await expect(extractLatest(frankfurter, settings, fastFail, log.onAttempt, breakers)).rejects.toMatchObject({ kind: 'http' });
    }
    const started = Date.now();
    const error = await rejectionOf(extractLatest(frankfurter, settings, fastFail, log.onAttempt, breakers));
    expect(Date.now() - started).toBeLessThan(50);
    expect(error).toMatchObject({ kind: 'circuit-open', source: 'frankfurter' });
    expect(error.message).toMatch(/^frankfurter: circuit open after 3 failures; retrying after \d{2}:\d{2}:\d{2} UTC$/);
    expect(server.requests).toHaveLength(3);
    expect(log.attempts).toHaveLength(3);
    await server.close();
  });

  it('counts format and provider errors as failures, per source', async () => {
    const server = await startServer(replies(json('{"message":"not found"}', 404), json('{"amount":1.0}'), json('{"truncated":')));
    const breakers = new SourceBreakers();
    const run = () => extractLatest(frankfurter, { baseUrl: server.url }, fastFail, attemptLog().onAttempt, breakers);
    await expect(run()).rejects.toMatchObject({ kind: 'provider' });
    await expect(run()).rejects.toMatchObject({ kind: 'format' });
    await expect(run()).rejects.toMatchObject({ kind: 'format' });
    await expect(run()).rejects.toMatchObject({ kind: 'circuit-open' });
    expect(server.requests).toHaveLength(3);
    await server.close();
    breakers.reset();
  });

  it('lets one extraction through after the reset timeout and closes again when it succeeds', async () => {
    const server = await startServer(replies(html('down', 503), html('down', 503), json(latest)));
    const breakers = new SourceBreakers({ volumeThreshold: 2, errorThresholdPercentage: 50, windowMs: 60_000, resetTimeoutMs: 100 });
    const run = () => extractLatest(frankfurter, { baseUrl: server.url }, fastFail, attemptLog().onAttempt, breakers);
    await expect(run()).rejects.toMatchObject({ kind: 'http' });
    await expect(run()).rejects.toMatchObject({ kind: 'http' });
    await expect(run()).rejects.toMatchObject({ kind: 'circuit-open' });
    await new Promise((resolve) => setTimeout(resolve, 150));
    await expect(run()).resolves.toMatchObject({ source: 'frankfurter' });
    await expect(run()).resolves.toMatchObject({ source: 'frankfurter' });
    expect(server.requests).toHaveLength(4);
    await server.close();
    breakers.reset();
  });

  it('throws a missing key before the breaker counts anything', async () => {
    const breakers = new SourceBreakers();
    for (let run = 0; run < 4; run++) {
      await expect(
        extractLatest(exchangerateApi, { baseUrl: 'http://127.0.0.1:9' }, fastFail, attemptLog().onAttempt, breakers),
      ).rejects.toMatchObject({
        kind: 'config',
      });
    }
    breakers.reset();
  });
});
