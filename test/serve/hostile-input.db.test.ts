import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { createApp } from '../../src/serve/app.js';
import { familyOf, unavailableAnswer } from '../../src/serve/families.js';
import { openDb, resolveTarget } from '../../src/warehouse/connection.js';
import type { SessionDb } from '../../src/warehouse/db.js';
import { initWarehouse } from '../../src/warehouse/init.js';
import { DatabaseLocator, ReconnectingDb } from '../../src/warehouse/reconnect.js';
import { stopEmbedded } from '../../src/postgres/server/embedded.js';
import { createTestDatabase, scratchDir, type TestDatabase } from '../helpers/database.js';
import { matcher } from '../helpers/matcher.js';
import { OPEN_ER } from './backup-support.js';
import { manualRun } from '../helpers/pipeline.js';

/** A log destination that keeps the JSON lines written to it. */
function logLines(): { stream: Writable; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { stream, lines };
}

const verify = {
  tolerancePct: '0.5',
  timeoutMs: 60_000,
  maxRows: 1000,
  places: 2,
  alerts: { webhookUrl: undefined, alerts: [], webhookTimeoutMs: 3000 },
};
/** createApp's options but the database and the log. */
const options = (token: string | undefined, cacheDir: string) => ({
  sources: ['open-er-api' as const],
  token,
  cacheDir,
  verify,
  lastGoodDir: path.join(cacheDir, 'last-good'),
  lastGoodScope: 'test',
  databaseWaitMs: 2000,
  corsOrigins: undefined,
});

/**
 * `fxpipe serve`'s routes, in process, given what no provider and no fxpipe client sends: days the calendar has not,
 * years 0000 and past 9999, ranges reversed or spanning every year, amounts zero, negative or huge. Each answers its
 * family's own 4xx (docs/backup.md, docs/serve.md), never a 500. The warehouse holds open.er-api's real answer of
 * 2024-01-09 (test/fixtures).
 */
describe('fxpipe serve: hostile input', () => {
  let database: TestDatabase;
  let db: SessionDb;
  const token = 'hostile-input-token-5e1b7c9a';

  beforeAll(async () => {
    database = await createTestDatabase();
    db = await database.openAs('pooled');
    await initWarehouse(db);
    await db.query(`update fxpipe_settings set max_rate_age = interval '3650 days'`);
    const files: Server = createServer((request, response) => {
      const found = request.url === '/v6/latest/USD';
      response.writeHead(found ? 200 : 404, { 'content-type': 'application/json' }).end(found ? OPEN_ER : '');
    });
    await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve));
    try {
      const loaded = await manualRun(
        db,
        'open-er-api',
        { baseUrl: `http://127.0.0.1:${(files.address() as AddressInfo).port}` },
        () => new Date('2024-01-09T06:00:00Z'),
      );
      expect(loaded).toMatchObject({ status: 'loaded' });
    } finally {
      files.close();
    }
  }, 120_000);

  afterAll(async () => {
    await database?.drop();
  });

  it("impossible dates and numbers, reversed and enormous ranges: each family's own 4xx, never a 500", async () => {
    const app = createApp({ ...options(undefined, scratchDir('fxpipe-hostile-')), db, log: createLogger('silent') });
    const frankfurter = (status: number, message: string) => ({ status, body: { message } });
    const oxr = (status: number, message: string) => ({ status, body: { error: true, status, message } });
    const v6 = (status: number, type: string) => ({ status, body: { result: 'error', 'error-type': type } });
    const api = (parameter: string, message: RegExp) => ({ status: 400, body: { parameter, error: matcher.stringMatching(message) } });
    const cases: [string, { status: number; body: Record<string, unknown> }][] = [
      // Frankfurter (lineofflight/frankfurter, lib/versions/v1.rb): a date Ruby's Date.parse refuses is 422 "invalid date";
      // a range that ends before it starts, or days with no rates, 404 "not found".
      ['/frankfurter/v1/2025-13-01', frankfurter(422, 'invalid date')],
      ['/frankfurter/v1/2024-01-32', frankfurter(422, 'invalid date')],
      ['/frankfurter/v1/2023-02-29', frankfurter(422, 'invalid date')],
      ['/frankfurter/v1/2024-01-09..2025-13-01', frankfurter(422, 'invalid date')],
      ['/frankfurter/history?start_at=2024-02-30&end_at=2024-03-01', frankfurter(422, 'invalid date')],
      ['/frankfurter/v1/0000-01-01', frankfurter(404, 'not found')],
      ['/frankfurter/v1/0000-02-30', frankfurter(422, 'invalid date')],
      ['/frankfurter/v1/9999-12-31', frankfurter(404, 'not found')],
      ['/frankfurter/v1/2024-03-01..2024-01-01', frankfurter(404, 'not found')],
      ['/frankfurter/v1/latest?amount=0', frankfurter(422, 'amount must be a positive number')],
      ['/frankfurter/v1/latest?amount=-1', frankfurter(422, 'amount must be a positive number')],
      ['/frankfurter/v1/latest?amount=1e400', frankfurter(422, 'amount must be a positive number')],
      ['/frankfurter/v1/latest?amount=12345678901234567890', frankfurter(422, 'amount must be a positive number')],
      // Open Exchange Rates, at both of its mounts.
      ['/openexchangerates/api/historical/0000-01-01.json', oxr(400, 'invalid_date')],
      ['/api/historical/0000-01-01.json', oxr(400, 'invalid_date')],
      ['/openexchangerates/api/historical/2025-13-01.json', oxr(400, 'invalid_date')],
      ['/openexchangerates/api/historical/2023-02-29.json', oxr(400, 'invalid_date')],
      ['/openexchangerates/api/historical/9999-12-31.json', oxr(400, 'not_available')],
      ['/openexchangerates/api/time-series.json?start=0000-01-01&end=2024-01-09', oxr(400, 'invalid_date')],
      ['/openexchangerates/api/time-series.json?start=2024-01-09&end=2024-01-01', oxr(400, 'invalid_date')],
      ['/openexchangerates/api/convert/0/USD/EUR', oxr(400, 'invalid_amount')],
      ['/openexchangerates/api/convert/1234567890123456789/USD/EUR', oxr(400, 'invalid_amount')],
      // ExchangeRate-API v6.
      ['/exchangerate-api/v6/k/history/USD/0/1/1', v6(400, 'malformed-request')],
      ['/exchangerate-api/v6/k/history/USD/0000/1/1', v6(400, 'malformed-request')],
      ['/exchangerate-api/v6/k/history/USD/10000/1/1', v6(400, 'malformed-request')],
      ['/exchangerate-api/v6/k/history/USD/2025/13/1', v6(400, 'malformed-request')],
      ['/exchangerate-api/v6/k/history/USD/2024/1/32', v6(400, 'malformed-request')],
      ['/exchangerate-api/v6/k/history/USD/2023/2/29', v6(400, 'malformed-request')],
      ['/exchangerate-api/v6/k/history/USD/2024/0x1/9', v6(400, 'malformed-request')],
      ['/exchangerate-api/v6/k/history/USD/9999/12/31', v6(404, 'no-data-available')],
      ['/exchangerate-api/v6/k/pair/USD/EUR/0', v6(400, 'malformed-request')],
      ['/exchangerate-api/v6/k/pair/USD/EUR/1234567890123456789', v6(400, 'malformed-request')],
      // fxpipe's own API.
      ['/api/v1/history?pair=USD/EUR&from=0000-01-01&source=open-er-api', api('from', /^invalid parameter from: expected a day YYYY/)],
      ['/api/v1/history?pair=USD/EUR&to=0000-12-31', api('to', /^invalid parameter to: /)],
      ['/api/v1/history?pair=USD/EUR&from=2023-02-29', api('from', /^invalid parameter from: /)],
      ['/api/v1/history?pair=USD/EUR&from=2024-01-09&to=10000-01-01', api('to', /^invalid parameter to: /)],
      ['/api/v1/convert?from=USD&to=EUR&at=0000-01-01', api('at', /^invalid parameter at: expected an ISO-8601 date or time/)],
      ['/api/v1/convert?from=USD&to=EUR&at=9999-12-31T23:00:00-14:00', api('at', /^invalid parameter at: /)],
      ['/api/v1/convert?from=USD&to=EUR&at=2024-01-09T24:00:00Z', api('at', /^invalid parameter at: /)],
      ['/api/v1/convert?from=USD&to=EUR&at=2023-02-29T12:00:00Z', api('at', /^invalid parameter at: /)],
      ['/api/v1/consensus?base=USD&quote=EUR&at=0000-06-01T00:00:00Z', api('at', /^invalid parameter at: /)],
      ['/api/v1/convert?from=USD&to=EUR&amount=1e400', api('amount', /^invalid parameter amount: /)],
      ['/api/v1/rejected?hours=99999999999999999999', api('hours', /^invalid parameter hours: /)],
    ];
    for (const [route, expected] of cases) {
      const response = await app.request(route);
      expect({ status: response.status, body: (await response.json()) as unknown }, route).toMatchObject(expected);
    }

    // Ranges over every year there is: the days stored, no more.
    const allYears = await app.request('/frankfurter/v1/0001-01-01..9999-12-31?base=USD&symbols=EUR');
    expect(allYears.status).toBe(200);
    expect(Object.keys(((await allYears.json()) as { rates: Record<string, unknown> }).rates)).toEqual(['2024-01-09']);
    const series = await app.request('/openexchangerates/api/time-series.json?start=0001-01-01&end=9999-12-31&symbols=EUR');
    expect(series.status).toBe(200);
    expect(Object.keys(((await series.json()) as { rates: Record<string, unknown> }).rates)).toEqual(['2024-01-09']);
    const history = await app.request('/api/v1/history?pair=USD/EUR&from=0001-01-01&to=9999-12-31&source=open-er-api');
    expect(history.status).toBe(200);
    expect(((await history.json()) as { points: { date: string }[] }).points[0]?.date).toBe('2024-01-09');
    // A `to` in the first 90 days of year 1: `from` defaults to the first day there is.
    const early = await app.request('/api/v1/history?pair=USD/EUR&to=0001-02-01');
    expect(early.status).toBe(200);
    expect(await early.json()).toMatchObject({ from: '0001-01-01', to: '0001-02-01', points: [] });
    // 29 February of a leap year is a day.
    expect(await (await app.request('/frankfurter/v1/2024-02-29?base=USD&symbols=EUR')).json()).toMatchObject({ date: '2024-01-09' });
    expect((await app.request('/exchangerate-api/v6/k/history/USD/2024/01/09')).status).toBe(200);
  });

  it('serve --verbose logs request paths with the ExchangeRate-API key hidden, right or wrong, on answers and on failures', async () => {
    const { stream, lines } = logLines();
    const app = createApp({ ...options(token, scratchDir('fxpipe-hostile-')), db, log: createLogger('debug', {}, stream) });
    expect((await app.request(`/exchangerate-api/v6/${token}/latest/USD`)).status).toBe(200);
    expect((await app.request(`/exchangerate-api/v6/${token}/history/USD/2025/13/1`)).status).toBe(400);
    expect((await app.request('/exchangerate-api/v6/a-guessed-key-0123456789/latest/USD')).status).toBe(403);
    expect((await app.request(`/Exchangerate-API//v6/${token}/latest/USD`)).status).toBe(401);
    const requests = lines.filter((line) => line.msg === 'request').map((line) => line.path);
    expect(requests).toEqual([
      '/exchangerate-api/v6/***/latest/USD',
      '/exchangerate-api/v6/***/history/USD/2025/13/1',
      '/exchangerate-api/v6/***/latest/USD',
      '/Exchangerate-API//v6/***/latest/USD',
    ]);
    const logged = lines.map((line) => JSON.stringify(line)).join('\n');
    expect(logged).not.toContain(token);
    expect(logged).not.toContain('a-guessed-key');
  });
});

/**
 * The embedded server stopped, and its port (which it keeps) taken by another program: serve cannot start it again.
 * Every route, whatever its family, answers 503 naming no host, port, path or database; the log says why, once per
 * request, at warn.
 */
describe('fxpipe serve: a database that cannot be brought back', () => {
  const home = path.join(scratchDir(), '.fxpipe');
  // Another program on the server's port: it hangs up on every connection.
  const blocker = createTcpServer((socket) => socket.destroy());

  afterAll(async () => {
    blocker.close();
    await stopEmbedded(home).catch(() => undefined);
  });

  it('is a 503 on every route, /healthz included, with no internal detail; the cause is logged at warn', async () => {
    const locator = new DatabaseLocator(() => resolveTarget({ home, databaseUrl: undefined, embeddedPort: undefined }));
    const db = await ReconnectingDb.connect('pooled', locator, (target) => openDb(target, { driver: 'pooled', poolSize: 2 }));
    try {
      await initWarehouse(db);
      const { stream, lines } = logLines();
      const app = createApp({ ...options(undefined, path.join(home, 'cache')), db, log: createLogger('warn', {}, stream) });
      expect((await app.request('/api/v1/runs')).status).toBe(200);

      const port = Number(readFileSync(path.join(home, 'port'), 'utf8'));
      await stopEmbedded(home);
      await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));

      const routes = [
        '/healthz',
        '/api/v1/latest',
        '/api/v1/runs',
        '/metrics',
        '/frankfurter/v1/latest',
        '/openexchangerates/api/latest.json',
        '/api/latest.json',
        '/exchangerate-api/v6/k/latest/USD',
        '/open-er-api/v6/latest/USD',
      ];
      for (const route of routes) {
        const response = await app.request(route);
        const text = await response.text();
        expect(response.status, route).toBe(503);
        expect(text, route).not.toContain(String(port));
        expect(text, route).not.toContain(home);
        expect(text, route).not.toMatch(/127\.0\.0\.1|embedded|fxpipe\b|postgres/i);
        const health = { status: 'down', serving: 'none', database: 'unreachable', freshness: [] };
        expect(JSON.parse(text), route).toEqual(route === '/healthz' ? health : await unavailableAnswer(familyOf(route)).json());
      }
      // The first request finds the pool's connection hung up on; each one after it, the server not starting again.
      const warnings = lines.filter((line) => line.msg === 'database unreachable');
      expect(warnings).toHaveLength(routes.length);
      for (const warning of warnings.slice(1)) {
        expect(warning).toMatchObject({
          level: 40,
          err: matcher.stringContaining(`port ${port} on 127.0.0.1 is taken by another program`),
        });
      }
    } finally {
      await db.close();
    }
  }, 180_000);
});
