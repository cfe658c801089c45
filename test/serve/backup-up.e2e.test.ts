import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDemo } from '../../src/demo/run-demo.js';
import { createLogger } from '../../src/log.js';
import { openDirect } from '../../src/warehouse/connection.js';
import { initWarehouse } from '../../src/warehouse/init.js';
import { ensureEmbedded, stopEmbedded } from '../../src/postgres/server/embedded.js';
import { finished, startCli, waitForOutput } from '../helpers/cli.js';
import { scratchDir } from '../helpers/database.js';

/**
 * The backup stays up (issue 27): a PostgreSQL of this test's own (an embedded server it starts and stops), a warehouse
 * the demo loaded, and `fxpipe serve` processes reading it through DATABASE_URL, so that stopping the server is an
 * outage they cannot mend by starting it again.
 */
const LATEST = [
  '/frankfurter/v1/latest?base=USD',
  '/openexchangerates/api/latest.json',
  '/exchangerate-api/v6/any-key/latest/USD',
  '/api/v1/latest',
  '/api/v1/convert?from=EUR&to=JPY&amount=100',
];
/** Routes that need the database, each in its family's shape when it is down. */
const HISTORY: [string, (body: Record<string, unknown>) => void][] = [
  ['/frankfurter/v1/2024-01-02..2024-01-05', (body) => expect(Object.keys(body)).toEqual(['message'])],
  [
    '/openexchangerates/api/historical/2024-01-02.json',
    (body) => expect(body).toMatchObject({ error: true, status: 503, message: 'service_unavailable' }),
  ],
  [
    '/exchangerate-api/v6/any-key/history/USD/2024/1/2',
    (body) => expect(body).toMatchObject({ result: 'error', 'error-type': 'service-unavailable' }),
  ],
  ['/api/v1/history?pair=USD/EUR', (body) => expect(Object.keys(body)).toEqual(['error'])],
];
/** Nothing inside in a public answer: no address, port, path or database name. */
const INTERNALS = /127\.0\.0\.1|localhost|:\d{4,5}\b|\/tmp\/|fxpipe_|postgres|ECONNREFUSED/i;

interface Served {
  url: string;
  stop(): Promise<void>;
}

async function startServe(env: Record<string, string>): Promise<Served> {
  const child = startCli(['serve', '--port', '0'], { env });
  await waitForOutput(child, /http:\/\/127\.0\.0\.1:\d+\//, 60_000).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}\nstderr: ${child.out.stderr}`);
  });
  return {
    url: /http:\/\/127\.0\.0\.1:\d+/.exec(child.out.stdout)![0],
    async stop() {
      child.kill('SIGTERM');
      await finished(child, 30_000);
    },
  };
}

describe('fxpipe serve: the backup stays up', () => {
  let dir: string;
  let home: string;
  let serverUrl: string;
  let env: Record<string, string>;
  const served: Served[] = [];
  const serve = async (extra: Record<string, string> = {}) => {
    const one = await startServe({ ...env, ...extra });
    served.push(one);
    return one;
  };

  beforeAll(async () => {
    dir = scratchDir('fxpipe-backup-up-');
    home = mkdtempSync(path.join(dir, 'postgres-'));
    const server = await ensureEmbedded(home);
    serverUrl = server.url;
    const db = await openDirect({ url: server.url, label: 'test', embedded: false });
    try {
      await initWarehouse(db);
      await runDemo(db, { days: 2, seed: 11, end: new Date(), log: createLogger('silent') });
    } finally {
      await db.close();
    }
    env = { DATABASE_URL: server.url, FXPIPE_HOME: mkdtempSync(path.join(dir, 'serve-')), FXPIPE_SERVE_DB_TIMEOUT_MS: '500' };
  }, 180_000);

  afterAll(async () => {
    await Promise.all(served.map((one) => one.stop().catch(() => undefined)));
    await stopEmbedded(home).catch(() => undefined);
  });

  it('answers cacheably and to browsers: ETag, Last-Modified, Cache-Control with stale-if-error, 304s, CORS, no-store on errors', async () => {
    const one = await serve();
    for (const route of LATEST) {
      const first = await fetch(`${one.url}${route}`, { headers: { Origin: 'https://shop.example' } });
      expect(first.status, route).toBe(200);
      const etag = first.headers.get('etag')!;
      expect(etag, route).toMatch(/^"[\w-]{32}"$/);
      expect(first.headers.get('cache-control'), route).toMatch(/^public, max-age=\d+, stale-while-revalidate=\d+, stale-if-error=\d+$/);
      expect(Date.parse(first.headers.get('last-modified')!), route).toBe(
        Math.floor(Date.parse(first.headers.get('x-fxpipe-as-of')!) / 1000) * 1000,
      );
      expect(first.headers.get('access-control-allow-origin'), route).toBe('*');
      expect(first.headers.get('cross-origin-resource-policy'), route).toBe('cross-origin');
      expect(first.headers.get('x-fxpipe-served-from'), route).toBe('database');
      expect(first.headers.get('x-request-id'), route).toMatch(/^[\w-]+$/);
      const body = await first.text();
      const again = await fetch(`${one.url}${route}`, { headers: { 'If-None-Match': etag, Origin: 'https://shop.example' } });
      expect(again.status, route).toBe(304);
      expect(again.headers.get('etag')).toBe(etag);
      expect(again.headers.get('access-control-allow-origin'), route).toBe('*');
      expect(await again.text()).toBe('');
      const since = await fetch(`${one.url}${route}`, { headers: { 'If-Modified-Since': first.headers.get('last-modified')! } });
      expect(since.status, route).toBe(304);
      expect(await (await fetch(`${one.url}${route}`, { headers: { 'If-None-Match': '"other"' } })).text(), route).toBe(body);
    }
    const preflight = await fetch(`${one.url}/frankfurter/v1/latest`, {
      method: 'OPTIONS',
      headers: {
        Origin: 'https://shop.example',
        'Access-Control-Request-Method': 'GET',
        'Access-Control-Request-Headers': 'authorization',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-methods')).toContain('GET');
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
    const head = await fetch(`${one.url}/frankfurter/v1/latest`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('etag')).toMatch(/^"/);
    // A closed past day is kept long; an error is never kept.
    const day = await fetch(`${one.url}/frankfurter/v1/${new Date(Date.now() - 86_400_000).toISOString().slice(0, 10)}`);
    expect([200, 404]).toContain(day.status);
    if (day.status === 200)
      expect(day.headers.get('cache-control')).toBe('public, max-age=86400, stale-while-revalidate=86400, stale-if-error=86400');
    const missing = await fetch(`${one.url}/frankfurter/v1/latest?base=XXX`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('cache-control')).toBe('no-store');
    // The dashboard keeps its strict headers.
    const page = await fetch(`${one.url}/`, { headers: { Origin: 'https://shop.example' } });
    expect(page.headers.get('access-control-allow-origin')).toBeNull();
    expect(page.headers.get('cross-origin-resource-policy')).toBe('same-origin');
  });

  it('two instances over the same data give the same ETags', async () => {
    const [a, b] = [served[0]!, await serve({ FXPIPE_HOME: mkdtempSync(path.join(dir, 'second-')) })];
    for (const route of LATEST) {
      const [x, y] = await Promise.all([fetch(`${a.url}${route}`), fetch(`${b.url}${route}`)]);
      expect(y.headers.get('etag'), route).toBe(x.headers.get('etag'));
    }
  });

  it('with PostgreSQL stopped: latest answers the last good ones, marked stale, from the running serve and one started after; the rest is a 503 in its family shape; an answer aged out of force is not served', async () => {
    const running = served[0]!;
    const before = new Map<string, { body: string; etag: string | null; asOf: string }>();
    for (const route of LATEST) {
      const response = await fetch(`${running.url}${route}`);
      before.set(route, { body: await response.text(), etag: response.headers.get('etag'), asOf: response.headers.get('x-fxpipe-as-of')! });
    }
    // A conversion never asked of serve, to another currency and of another amount (from a currency asked before):
    // api.convert's answer, asked before the outage.
    const unasked = '/api/v1/convert?from=EUR&to=CHF&amount=7.25';
    const warehouse = await openDirect({ url: serverUrl, label: 'test', embedded: false });
    const expected = await warehouse
      .query<{ rate: string; converted: string }>(
        `select rate::text as rate, converted::text as converted from api.convert(7.25, 'EUR', 'CHF')`,
      )
      .finally(() => warehouse.close());
    expect(await stopEmbedded(home)).toBe(true);
    const later = await serve();
    for (const one of [running, later]) {
      for (const route of LATEST) {
        const response = await fetch(`${one.url}${route}`);
        expect(response.status, route).toBe(200);
        expect(await response.text(), route).toBe(before.get(route)!.body);
        expect(response.headers.get('etag'), route).toBe(before.get(route)!.etag);
        expect(response.headers.get('x-fxpipe-served-from'), route).toBe('last-good');
        expect(response.headers.get('x-fxpipe-as-of'), route).toBe(before.get(route)!.asOf);
        expect(Number(response.headers.get('age')), route).toBeGreaterThanOrEqual(0);
        expect(response.headers.get('cache-control'), route).toMatch(/^public, max-age=0, stale-if-error=\d+$/);
      }
      // Answered from the legs of every pair from EUR kept per data version, not from an answer kept for that question.
      const conversion = await fetch(`${one.url}${unasked}`);
      expect(conversion.status).toBe(200);
      expect(conversion.headers.get('x-fxpipe-served-from')).toBe('last-good');
      expect(await conversion.json()).toMatchObject({ amount: '7.25', from: 'EUR', to: 'CHF', ...expected[0] });
      for (const [route, shape] of HISTORY) {
        const response = await fetch(`${one.url}${route}`);
        expect(response.status, route).toBe(503);
        expect(response.headers.get('cache-control'), route).toBe('no-store');
        expect(response.headers.get('retry-after'), route).toMatch(/^\d+$/);
        const text = await response.text();
        expect(text, route).not.toMatch(INTERNALS);
        shape(JSON.parse(text) as Record<string, unknown>);
      }
      const health = await fetch(`${one.url}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: 'degraded', serving: 'last-good', database: 'unreachable' });
    }
    // A serve with no last good answer has nothing to stand in with.
    const empty = await serve({ FXPIPE_HOME: mkdtempSync(path.join(dir, 'empty-')) });
    const nothing = await fetch(`${empty.url}/frankfurter/v1/latest`);
    expect(nothing.status).toBe(503);
    expect(Object.keys((await nothing.json()) as object)).toEqual(['message']);
    const down = await fetch(`${empty.url}/healthz`);
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({ status: 'down', serving: 'none' });
  });

  it('when PostgreSQL answers again, the answers come from it again', async () => {
    await ensureEmbedded(home);
    const one = served[0]!;
    const deadline = Date.now() + 20_000;
    let from = '';
    while (Date.now() < deadline && from !== 'database') {
      await new Promise((resolve) => setTimeout(resolve, 250));
      from = (await fetch(`${one.url}/frankfurter/v1/latest?base=USD`)).headers.get('x-fxpipe-served-from') ?? '';
    }
    expect(from).toBe('database');
    expect((await fetch(`${one.url}/healthz`)).status).toBe(200);
  });

  it("a last good answer is served only while its rates are in force (the warehouse's maximum rate age)", async () => {
    const one = served[0]!;
    const route = '/exchangerate-api/v6/any-key/latest/USD';
    const asOf = Date.parse((await fetch(`${one.url}${route}`)).headers.get('x-fxpipe-as-of')!);
    // The rates age out of force 4 seconds from now: the answer computed next is kept under that rule.
    const warehouse = await openDirect({ url: serverUrl, label: 'test', embedded: false });
    try {
      await warehouse.query('update fxpipe_settings set max_rate_age = make_interval(secs => $1)', [
        Math.ceil((Date.now() - asOf) / 1000) + 4,
      ]);
    } finally {
      await warehouse.close();
    }
    await new Promise((resolve) => setTimeout(resolve, 1200)); // the data version is read at most once a second
    const kept = await fetch(`${one.url}${route}`);
    const inForceS = Number(/stale-if-error=(\d+)$/.exec(kept.headers.get('cache-control')!)![1]);
    expect(inForceS).toBeLessThanOrEqual(5);
    const inForceUntil = Date.now() + inForceS * 1000;
    expect(await stopEmbedded(home)).toBe(true);
    expect((await fetch(`${one.url}${route}`)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, inForceUntil - Date.now()) + 1000));
    const aged = await fetch(`${one.url}${route}`);
    expect(aged.status).toBe(503);
    expect(await aged.json()).toMatchObject({ result: 'error', 'error-type': 'service-unavailable' });
  });
});
