import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { oneLine } from '../errors.js';
import type { Logger } from '../log.js';
import { isSourceName, SOURCE_NAMES, type SourceName } from '../sources/types.js';
import type { Db } from '../warehouse/db.js';
import { isConnectionError } from '../warehouse/reconnect.js';
import { sourceFreshness } from '../warehouse/freshness.js';
import { recentProductionChecks } from '../warehouse/production-checks.js';
import { recentRuns } from '../warehouse/status.js';
import { loadAssets } from './assets.js';
import { login, requireToken } from './auth.js';
import { consensus } from './data/consensus.js';
import { convert } from './data/convert.js';
import { ratedCurrencies } from './data/currencies.js';
import { INTERVALS, pairHistory } from './data/history.js';
import { latestRates } from './data/latest.js';
import { exchangerateApiApp, openErApiApp } from './backup/exchangerate-api.js';
import { frankfurterApp } from './backup/frankfurter.js';
import { LatestCache } from './backup/latest-cache.js';
import { oxrApp } from './backup/oxr.js';
import { archiveStatus, recentRejects, sourceComparison } from './data/panels.js';
import { verifyPosted, type VerifySettings } from './data/verify.js';
import { health } from './health.js';
import { HTTPException } from 'hono/http-exception';
import { secureHeaders } from 'hono/secure-headers';
import { HttpError } from './http-error.js';
import { createMetrics } from './metrics.js';
import * as p from './params.js';

export interface ServeOptions {
  /** The pooled access path. */
  db: Db;
  sources: readonly SourceName[];
  token: string | undefined;
  /** Where archived months on S3 are downloaded once (FXPIPE_HOME/cache). */
  cacheDir: string;
  /** POST /api/v1/verify: its default tolerance and where its alert goes. */
  verify: VerifySettings;
  log: Logger;
}

/** The largest production file POST /api/v1/verify accepts, as `fxpipe verify --url` does. */
const MAX_VERIFY_BYTES = 5 * 1024 * 1024;

const DAY_MS = 86_400_000;
/**
 * The backup endpoints (docs/backup.md): each checks the token where its provider carries its key. OXR's paths are
 * also answered at the root (/api/latest.json, …): some of its clients let only the host be set.
 */
const OXR_ROOT_PATHS = ['/api/latest.json', '/api/historical/', '/api/time-series.json', '/api/convert/', '/api/currencies.json'];
const BACKUP_PREFIXES = ['/frankfurter/', '/openexchangerates/', '/exchangerate-api/', '/open-er-api/', ...OXR_ROOT_PATHS];
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** Besides connection failures: the database was dropped or the password changed; the request is not wrong. */
const UNUSABLE = new Set(['3D000', '28P01']);

/** The database is down, unreachable or unusable (also when reconnecting failed: the cause says why). */
function databaseDown(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if (UNUSABLE.has(String((e as { code?: unknown }).code))) return true;
  }
  return isConnectionError(error);
}

/**
 * The dashboard and the JSON API (README, "fxpipe serve"). Read-only but for POST /api/v1/verify, which stores its
 * check in production_checks as `fxpipe verify` does.
 */
export function createApp(options: ServeOptions): Hono {
  const { db, sources, log } = options;
  const assets = loadAssets();
  const metrics = createMetrics(db, sources);
  const cache = new LatestCache(db);
  const app = new Hono();

  app.use(async (c, next) => {
    const started = performance.now();
    await next();
    const route = c.req.routePath || 'unmatched';
    metrics.requests.inc({ route, status: String(c.res.status) });
    // The path only: a query string may carry anything, and tokens never travel there.
    log.debug({ method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round(performance.now() - started) }, 'request');
  });
  app.use(
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'self'"], imgSrc: ["'self'", 'data:'], styleSrc: ["'self'"], scriptSrc: ["'self'"], frameAncestors: ["'none'"],
      },
      referrerPolicy: 'no-referrer',
    }),
  );
  app.use(requireToken(options.token, BACKUP_PREFIXES));
  app.post('/login', login(options.token));

  for (const [route, asset] of assets) {
    app.get(route, (c) => {
      c.header('Cache-Control', route === '/' ? 'no-cache' : 'public, max-age=3600');
      return c.body(asset.body, 200, { 'Content-Type': asset.type });
    });
  }

  app.get('/healthz', async (c) => {
    const h = await health(db, sources);
    return c.json(h, h.status === 'ok' ? 200 : 503);
  });
  app.get('/metrics', async (c) => c.body(await metrics.registry.metrics(), 200, { 'Content-Type': metrics.registry.contentType }));

  const api = new Hono();
  api.get('/latest', async (c) => c.json(await latestRates(db, p.currency(q(c), 'base', 'USD'))));
  api.get('/convert', async (c) => {
    const query = q(c);
    return c.json(await convert(db, p.amount(query, 'amount', '1'), p.currency(query, 'from'), p.currency(query, 'to'), p.instant(query, 'at'), options.cacheDir));
  });
  api.get('/consensus', async (c) => {
    const query = q(c);
    return c.json(await consensus(db, p.currency(query, 'base'), p.currency(query, 'quote'), p.instant(query, 'at')));
  });
  api.post(
    '/verify',
    bodyLimit({ maxSize: MAX_VERIFY_BYTES, onError: (c) => c.json({ error: `the body is larger than ${MAX_VERIFY_BYTES} bytes; nothing was checked or stored` }, 413) }),
    async (c) => c.json(await verifyPosted(db, await c.req.text(), q(c), options.verify, log)),
  );
  api.get('/production-checks', async (c) => c.json({ checks: await recentProductionChecks(db, p.wholeNumber(q(c), 'limit', 1, 100, 10)) }));
  api.get('/history', async (c) => {
    const query = q(c);
    const to = p.day(query, 'to', isoDay(Date.now()));
    const from = p.day(query, 'from', isoDay(Date.parse(to) - 90 * DAY_MS));
    const source = query.source?.trim() || null;
    if (source !== null && !isSourceName(source)) {
      throw new HttpError(400, `invalid parameter source: expected one of ${SOURCE_NAMES.join(', ')}, got ${JSON.stringify(source.slice(0, 40))}`, 'source');
    }
    return c.json(await pairHistory(db, p.pair(query, 'pair'), { from, to }, p.oneOf(query, 'interval', INTERVALS, 'day'), source));
  });
  api.get('/runs', async (c) => c.json({ runs: await recentRuns(db, p.wholeNumber(q(c), 'limit', 1, 1000, 20)) }));
  api.get('/freshness', async (c) => c.json({ freshness: await sourceFreshness(db, sources, new Date()) }));
  api.get('/currencies', async (c) => c.json({ currencies: await ratedCurrencies(db) }));
  api.get('/comparison', async (c) => {
    const pair = p.pair(q(c), 'pair');
    return c.json(await sourceComparison(db, pair.base, pair.quote));
  });
  api.get('/rejected', async (c) => c.json(await recentRejects(db, p.wholeNumber(q(c), 'hours', 1, 24 * 366, 24))));
  api.get('/archive', async (c) => c.json(await archiveStatus(db)));
  app.route('/api/v1', api);
  // After /api/v1: its routes only (no catch-all), for clients that let only the host be set.
  app.route('/api', oxrApp(db, options.token, cache, { catchAll: false }));

  // Stand in for the providers production systems call, in their own formats (docs/backup.md).
  const frankfurter = frankfurterApp(db, options.token, cache);
  app.route('/frankfurter/v1', frankfurter);
  app.route('/frankfurter', frankfurter);
  app.route('/openexchangerates/api', oxrApp(db, options.token, cache, { catchAll: true }));
  app.route('/exchangerate-api/v6', exchangerateApiApp(db, options.token, cache));
  app.route('/open-er-api/v6', openErApiApp(db, options.token, cache));

  app.notFound((c) => c.json({ error: `no such route: ${c.req.method} ${c.req.path}` }, 404));
  app.onError((error, c) => {
    if (error instanceof HTTPException) return error.getResponse();
    if (databaseDown(error)) {
      log.warn({ err: oneLine(error) }, 'database unreachable');
      return c.json({ error: `database unreachable: ${oneLine(error)}` }, 503);
    }
    log.error({ err: oneLine(error), path: c.req.path }, 'request failed');
    return c.json({ error: `internal error: ${oneLine(error)}` }, 500);
  });
  return app;
}

function q(c: Context): Record<string, string | undefined> {
  return c.req.query();
}
