import { describe, expect, it } from 'vitest';
import { defaultHttpPolicy, fetchWithPolicy, type HttpPolicy } from '../../src/sources/http.js';
import { openErApi } from '../../src/sources/open-er-api.js';
import { retryAfterMs } from '../../src/sources/retry-after.js';
import type { SourceError } from '../../src/sources/errors.js';
import { attemptLog, html, json, replies, startServer, testPolicy, type Reply, type TestServer } from './support.js';

const ok = json('{"ok":true}');

async function fetchFrom(server: TestServer, policy: Partial<HttpPolicy> = {}) {
  const log = attemptLog();
  const request = openErApi.latestRequest({ baseUrl: server.url });
  try {
    const response = await fetchWithPolicy('open-er-api', request, { ...testPolicy, ...policy }, log.onAttempt);
    return { response, error: undefined, attempts: log.attempts };
  } catch (error) {
    return { response: undefined, error: error as SourceError, attempts: log.attempts };
  } finally {
    await server.close();
  }
}

const serve = (...sequence: Reply[]) => startServer(replies(...sequence));

describe('fetchWithPolicy', () => {
  it('has the documented defaults', () => {
    expect(defaultHttpPolicy).toEqual({
      connectTimeoutMs: 5000,
      totalTimeoutMs: 20_000,
      maxBytes: 5 * 1024 * 1024,
      retries: 3,
      minBackoffMs: 500,
      maxBackoffMs: 10_000,
      maxRetryAfterMs: 60_000,
    });
  });

  it('returns a 2xx response after one attempt, reported to onAttempt', async () => {
    const { response, attempts } = await fetchFrom(await serve(ok));
    expect(response).toMatchObject({ status: 200 });
    expect(response!.body.toString()).toBe('{"ok":true}');
    expect(response!.headers['content-type']).toBe('application/json');
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ source: 'open-er-api', response: { status: 200 } });
    expect(attempts[0]!.request.url).toMatch(/\/v6\/latest\/USD$/);
    expect(attempts[0]!.startedAt).toBeInstanceOf(Date);
    expect(attempts[0]!.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('retries an HTML 500 page, reports every attempt, then fails naming source, status, attempts and URL', async () => {
    const server = await serve(html('<html><body>Internal Server Error</body></html>', 500));
    const { error, attempts } = await fetchFrom(server, { retries: 3 });
    expect(server.requests).toHaveLength(4);
    expect(attempts.map((attempt) => attempt.response?.status)).toEqual([500, 500, 500, 500]);
    expect(attempts[0]!.response!.body.toString()).toContain('Internal Server Error');
    expect(error).toMatchObject({ name: 'SourceError', kind: 'http', source: 'open-er-api' });
    expect(error!.message).toBe(`open-er-api: HTTP 500 after 4 attempts (${server.url}/v6/latest/USD)`);
  });

  it('recovers when a 5xx or a 429 without Retry-After is followed by success', async () => {
    const server = await serve(html('bad gateway', 502), html('too many requests', 429), ok);
    const { response, attempts } = await fetchFrom(server);
    expect(response!.status).toBe(200);
    expect(attempts.map((attempt) => attempt.response?.status)).toEqual([502, 429, 200]);
  });

  it('waits as long as Retry-After says on a 429', async () => {
    const server = await serve({ status: 429, headers: { 'retry-after': '1' }, body: 'slow down' }, ok);
    const { response, attempts } = await fetchFrom(server);
    expect(response!.status).toBe(200);
    expect(attempts).toHaveLength(2);
    const waited = attempts[1]!.startedAt.getTime() - attempts[0]!.startedAt.getTime();
    expect(waited).toBeGreaterThanOrEqual(950);
  });

  it('caps a Retry-After wait at maxRetryAfterMs and still counts it as a retry', async () => {
    const server = await serve({ status: 503, headers: { 'retry-after': '3600' }, body: 'maintenance' });
    const { error, attempts } = await fetchFrom(server, { retries: 2, maxRetryAfterMs: 50 });
    expect(attempts).toHaveLength(3);
    const waited = attempts[1]!.startedAt.getTime() - attempts[0]!.startedAt.getTime();
    expect(waited).toBeGreaterThanOrEqual(45);
    expect(waited).toBeLessThan(1000);
    expect(error!.message).toMatch(/^open-er-api: HTTP 503 after 3 attempts/);
  });

  it('does not retry a 404 and returns it for the parser to read', async () => {
    const server = await serve(json('{"result":"error","error-type":"unsupported-code"}', 404));
    const { response, attempts } = await fetchFrom(server);
    expect(server.requests).toHaveLength(1);
    expect(attempts).toHaveLength(1);
    expect(response!.status).toBe(404);
  });

  it('times out a server that is too slow to answer, on every attempt', async () => {
    const server = await startServer((_req, res) => setTimeout(() => res.end('late'), 2000).unref());
    const { error, attempts } = await fetchFrom(server, { totalTimeoutMs: 150, retries: 1 });
    expect(attempts.map((attempt) => attempt.error)).toEqual(['timed out after 150 ms', 'timed out after 150 ms']);
    expect(attempts.every((attempt) => attempt.response === undefined && attempt.durationMs >= 140)).toBe(true);
    expect(error).toMatchObject({ kind: 'network' });
    expect(error!.message).toBe(`open-er-api: timed out after 150 ms after 2 attempts (${server.url}/v6/latest/USD)`);
  });

  it('times out a body that stalls after the headers', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"result":');
    });
    const { error } = await fetchFrom(server, { totalTimeoutMs: 150, retries: 0 });
    expect(error!.message).toBe(`open-er-api: timed out after 150 ms after 1 attempt (${server.url}/v6/latest/USD)`);
  });

  it('stops reading a body larger than maxBytes, without retrying', async () => {
    const big = 'x'.repeat(4096);
    const declared = await serve(json(big));
    const first = await fetchFrom(declared, { maxBytes: 1024 });
    expect(declared.requests).toHaveLength(1);
    expect(first.attempts.map((attempt) => attempt.error)).toEqual(['response larger than 1024 bytes']);
    expect(first.error).toMatchObject({ kind: 'http' });
    expect(first.error!.message).toBe(`open-er-api: response larger than 1024 bytes after 1 attempt (${declared.url}/v6/latest/USD)`);

    const streamed = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = 'y'.repeat(512);
      const timer = setInterval(() => res.write(chunk), 1);
      res.on('close', () => clearInterval(timer));
    });
    const second = await fetchFrom(streamed, { maxBytes: 2048 });
    expect(second.attempts.map((attempt) => attempt.error)).toEqual(['response larger than 2048 bytes']);
  });

  it('reports a refused connection as a network error after its retries', async () => {
    const server = await serve(ok);
    await server.close();
    const { error, attempts } = await fetchFrom(server, { retries: 1 });
    expect(attempts).toHaveLength(2);
    expect(attempts[0]!.error).toMatch(/^connect ECONNREFUSED 127\.0\.0\.1:\d+$/);
    expect(error).toMatchObject({ kind: 'network' });
  });

  it('awaits onAttempt before the next attempt, and stops when it fails', async () => {
    const server = await serve(html('down', 500), ok);
    const events: string[] = [];
    const request = openErApi.latestRequest({ baseUrl: server.url });
    const response = await fetchWithPolicy('open-er-api', request, testPolicy, async (attempt) => {
      await new Promise((resolve) => setTimeout(resolve, 30));
      events.push(`stored ${attempt.response?.status} (server saw ${server.requests.length})`);
    });
    expect(response.status).toBe(200);
    expect(events).toEqual(['stored 500 (server saw 1)', 'stored 200 (server saw 2)']);

    const failing = await serve(html('down', 500), ok);
    const storeError = new Error('bronze_extraction insert failed');
    const failed = fetchWithPolicy('open-er-api', openErApi.latestRequest({ baseUrl: failing.url }), testPolicy, async () => {
      throw storeError;
    });
    await expect(failed).rejects.toBe(storeError);
    expect(failing.requests).toHaveLength(1);
    await Promise.all([server.close(), failing.close()]);
  });
});

describe('retryAfterMs', () => {
  const now = new Date('2025-05-09T12:00:00Z');
  it('reads delay-seconds and HTTP-dates', () => {
    expect(retryAfterMs('1', now)).toBe(1000);
    expect(retryAfterMs(' 120 ', now)).toBe(120_000);
    expect(retryAfterMs('Fri, 09 May 2025 12:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs('Fri, 09 May 2025 11:00:00 GMT', now)).toBe(0);
  });
  it('ignores what it cannot read', () => {
    expect(retryAfterMs(undefined, now)).toBeUndefined();
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs('-5', now)).toBeUndefined();
  });
});
