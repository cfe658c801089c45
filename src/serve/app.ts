import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { addDays, dayOf, FIRST_DAY } from '../calendar/days.js';
import { oneLine } from '../errors.js';
import type { Logger } from '../log.js';
import { isSourceName, SOURCE_NAMES, type SourceName } from '../sources/types.js';
import type { Db } from '../warehouse/db.js';
import { DatabaseUnavailableError, isConnectionError } from '../warehouse/reconnect.js';
import { sourceFreshness } from '../warehouse/freshness.js';
import { recentProductionChecks } from '../warehouse/production-checks.js';
import { recentRuns } from '../warehouse/status.js';
import { loadAssets } from './assets.js';
import { login, requireToken } from './auth.js';
import { consensus } from './data/consensus.js';
import { convert } from './data/convert.js';
import { ratedCurrencies } from './data/currencies.js';
import { INTERVALS, pairHistory, planHistory } from './data/history.js';
import { historyFormat, streamedHistory } from './history-formats.js';
import { latestRates } from './data/latest.js';
import { LatestConversions } from './data/latest-pairs.js';
import { exchangerateApiApp, openErApiApp } from './backup/exchangerate-api.js';
import { fixerApp } from './backup/fixer.js';
import { frankfurterApp } from './backup/frankfurter.js';
import { frankfurterV2App } from './backup/frankfurter-v2/routes.js';
import { oxrApp } from './backup/oxr.js';
import { archiveStatus, historyRange, recentRejects, sourceComparison } from './data/panels.js';
import { verifyParameters, verifyPosted, type VerifySettings } from './data/verify.js';
import { Gate } from './gate.js';
import { health } from './health.js';
import { loggedPath } from './logged-path.js';
import { openApiDocument } from './openapi/document.js';
import { cors } from 'hono/cors';
import { HTTPException } from 'hono/http-exception';
import { requestId } from 'hono/request-id';
import { secureHeaders } from 'hono/secure-headers';
import { DatabaseBreaker } from './database-breaker.js';
import { BACKUP_PREFIXES, crossOriginPath, familyOf, unavailableAnswer } from './families.js';
import { dayCacheControl, httpCaching, REVALIDATE, sendAnswer } from './http-cache.js';
import { LatestAnswers } from './last-good/latest-answers.js';
import { LastGoodStore } from './last-good/store.js';
import { HttpError } from './http-error.js';
import { createMetrics } from './metrics.js';
import * as p from './params.js';
import { hasSqlState, SqlState } from '../warehouse/sqlstate.js';

export interface ServeOptions {
  /** The pooled access path every read goes through (FXPIPE_READ_DATABASE_URL's standby when set). */
  db: Db;
  /** What writes (POST /api/v1/verify: its check and its alert): DATABASE_URL's primary when reads go to a standby; db when absent. */
  writeDb?: Db;
  sources: readonly SourceName[];
  token: string | undefined;
  /** Where archived months on S3 are downloaded once (FXPIPE_HOME/cache). */
  cacheDir: string;
  /** POST /api/v1/verify: its default tolerance, its time limit, where its alert goes, and how many may run at once. */
  verify: VerifySettings & { places: number };
  /** Where the last good latest answers are kept (FXPIPE_LAST_GOOD_DIR, default FXPIPE_HOME/last-good). */
  lastGoodDir: string;
  /** The warehouse they are kept for (the configured database, without credentials): instances over others may share the directory. */
  lastGoodScope: string;
  /** A latest answer the database has not given within this long comes from the last good ones (FXPIPE_SERVE_DB_TIMEOUT_MS). */
  databaseWaitMs: number;
  /** The origins browsers may call the read routes from (FXPIPE_CORS_ORIGINS); undefined: any without a token, none with one. */
  corsOrigins: readonly string[] | undefined;
  log: Logger;
}

/** The largest production file POST /api/v1/verify accepts, as `fxpipe verify --url` does. */
const MAX_VERIFY_BYTES = 5 * 1024 * 1024;
/** How long a check's body may take to arrive: a client trickling it in would hold a place meanwhile. */
const VERIFY_BODY_TIMEOUT_MS = 30_000;
/** What a check turned away for want of a place is told: about the time a large check takes. */
const VERIFY_RETRY_AFTER_S = 10;

/**
 * The database is down, unreachable or unusable: no connection could be opened (whatever the cause: the embedded
 * server not starting again, a refused password), or the one in use failed.
 */
function databaseDown(error: unknown): boolean {
  if (error instanceof DatabaseUnavailableError) return true;
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    // Besides connection failures: the database was dropped or the password changed; the request is not wrong.
    if (hasSqlState(e, SqlState.invalid_catalog_name, SqlState.invalid_password)) return true;
  }
  return isConnectionError(error);
}

/**
 * The dashboard and the JSON API (README, "fxpipe serve"). Read-only but for POST /api/v1/verify, which stores its
 * check in production_checks as `fxpipe verify` does.
 */
export function createApp(options: ServeOptions): Hono {
  const { sources, log } = options;
  // Once the database cannot be reached, requests stop trying it for a moment (and the latest answers come from the
  // last good ones) rather than each reconnecting: the breaker.
  const db = new DatabaseBreaker().guard(options.db);
  // Writes (POST /api/v1/verify) through DATABASE_URL when reads have their own URL: a breaker of their own.
  const writeDb = options.writeDb ? new DatabaseBreaker().guard(options.writeDb) : db;
  const assets = loadAssets();
  const openApi = JSON.stringify(openApiDocument());
  const metrics = createMetrics(db, sources);
  const answers = new LatestAnswers(db, new LastGoodStore(options.lastGoodDir, options.lastGoodScope), options.databaseWaitMs);
  const conversions = new LatestConversions(db, answers);
  const app = new Hono<{ Variables: { requestId: string } }>();

  app.use(requestId());
  app.use(async (c, next) => {
    const started = performance.now();
    await next();
    const route = c.req.routePath || 'unmatched';
    metrics.requests.inc({ route, status: String(c.res.status) });
    // The path only, a key in it hidden: a query string may carry anything (OXR's app_id, ?token=).
    const ms = Math.round(performance.now() - started);
    log.debug({ requestId: c.get('requestId'), method: c.req.method, path: loggedPath(c.req.path), status: c.res.status, ms }, 'request');
  });
  // The read routes (the backup families, /api/v1) may be called from any web page's script where no token guards
  // them, from the listed origins otherwise (Frankfurter allows any origin: lib/app.rb); the dashboard keeps its
  // strict same-origin headers.
  const crossOrigin = cors({
    origin:
      options.corsOrigins?.includes('*') || (options.corsOrigins === undefined && !options.token) ? '*' : [...(options.corsOrigins ?? [])],
    allowMethods: ['GET', 'HEAD', 'OPTIONS'],
    allowHeaders: ['Authorization', 'If-None-Match', 'If-Modified-Since'],
    exposeHeaders: ['ETag', 'Last-Modified', 'Age', 'Retry-After', 'X-Request-Id', 'X-Fxpipe-As-Of', 'X-Fxpipe-Served-From'],
    maxAge: 86_400,
  });
  app.use(async (c, next) => {
    if (!crossOriginPath(c.req.path) || c.req.method === 'POST') return next();
    return crossOrigin(c, next);
  });
  // Registered before secureHeaders, so that it runs after it on the way out.
  app.use(async (c, next) => {
    await next();
    if (crossOriginPath(c.req.path)) c.res.headers.set('Cross-Origin-Resource-Policy', 'cross-origin');
  });
  app.use(...httpCaching(Boolean(options.token)));
  app.use(
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        styleSrc: ["'self'"],
        scriptSrc: ["'self'"],
        frameAncestors: ["'none'"],
      },
      referrerPolicy: 'no-referrer',
    }),
  );
  // Before the token check: the description names no data, and a client reads it to learn where the token goes.
  app.get('/openapi.json', (c) => c.body(openApi, 200, { 'Content-Type': 'application/json', 'Cache-Control': 'public, max-age=3600' }));
  app.use(requireToken(options.token, BACKUP_PREFIXES));
  app.post('/login', login(options.token));

  for (const [route, asset] of assets) {
    app.get(route, (c) => {
      c.header('Cache-Control', route === '/' ? 'no-cache' : 'public, max-age=3600');
      return c.body(asset.body, 200, { 'Content-Type': asset.type });
    });
  }

  app.get('/healthz', async (c) => {
    const h = await health(db, sources, answers.store, log);
    return c.json(h, h.serving === 'none' ? 503 : 200, { 'Cache-Control': 'no-store' });
  });
  app.get('/metrics', async (c) =>
    c.body(await metrics.registry.metrics(), 200, { 'Content-Type': metrics.registry.contentType, 'Cache-Control': 'no-store' }),
  );

  const api = new Hono();
  api.use(async (c, next) => {
    await next();
    // What changes with any run (runs, freshness, checks): a cache keeps it but asks again each time.
    if (c.req.method === 'GET' && c.res.status === 200 && !c.res.headers.has('Cache-Control'))
      c.res.headers.set('Cache-Control', REVALIDATE);
  });
  api.get('/latest', async (c) => {
    const base = p.currency(q(c), 'base', 'USD');
    const answer = await answers.answer(`api latest ${base}`, async () => {
      const latest = await latestRates(db, base);
      const asOfs = latest.rates.flatMap((r) => (r.asOf ? [Date.parse(r.asOf)] : [])).sort((a, b) => a - b);
      return {
        body: JSON.stringify(latest),
        contentType: 'application/json',
        ...(asOfs.length ? { asOf: new Date(asOfs.at(-1)!), oldestAsOf: new Date(asOfs[0]!) } : {}),
      };
    });
    return sendAnswer(c, answer, answers.nextRunAt);
  });
  api.get('/convert', async (c) => {
    const query = q(c);
    const [amount, from, to, at] = [
      p.amount(query, 'amount', '1'),
      p.currency(query, 'from'),
      p.currency(query, 'to'),
      p.instant(query, 'at'),
    ];
    if (at !== null) {
      const converted = await convert(db, amount, from, to, at, options.cacheDir);
      return c.json(converted, 200, { 'Cache-Control': dayCacheControl(at.toISOString().slice(0, 10)) });
    }
    const computed = await conversions.answer(amount, from, to);
    if (computed) return sendAnswer(c, computed, answers.nextRunAt);
    const answer = await answers.answer(`api convert ${JSON.stringify([amount, from, to])}`, async () => {
      const converted = await convert(db, amount, from, to, null, options.cacheDir);
      return {
        body: JSON.stringify(converted),
        contentType: 'application/json',
        ...(converted.asOf ? { asOf: new Date(converted.asOf) } : {}),
      };
    });
    return sendAnswer(c, answer, answers.nextRunAt);
  });
  api.get('/consensus', async (c) => {
    const query = q(c);
    return c.json(await consensus(db, p.currency(query, 'base'), p.currency(query, 'quote'), p.instant(query, 'at')));
  });
  // A check holds a pool connection while it runs: at most verify.places at once, the rest of the pool stays for the
  // read routes; one more is told to come back (503, Retry-After) rather than queued behind them.
  const verifying = new Gate(options.verify.places);
  api.post(
    '/verify',
    bodyLimit({
      maxSize: MAX_VERIFY_BYTES,
      onError: (c) => c.json({ error: `the body is larger than ${MAX_VERIFY_BYTES} bytes; nothing was checked or stored` }, 413),
    }),
    async (c) => {
      const parameters = verifyParameters(q(c), options.verify);
      const leave = verifying.tryEnter();
      if (leave === null) {
        const error =
          options.verify.places === 0
            ? 'production checks need a pool of 2 or more connections (fxpipe serve --pool); nothing was checked or stored'
            : `${options.verify.places} production ${options.verify.places === 1 ? 'check is' : 'checks are'} running: try again later; nothing was checked or stored`;
        // Read to its end first, unkept: a client still sending its body would otherwise see the connection cut.
        await within(drain(c.req.raw.body), VERIFY_BODY_TIMEOUT_MS).catch(() => undefined);
        return c.json({ error }, 503, { 'Retry-After': String(VERIFY_RETRY_AFTER_S) });
      }
      try {
        const body = await within(c.req.text(), VERIFY_BODY_TIMEOUT_MS);
        return c.json(await verifyPosted(writeDb, body, parameters, options.verify, log, c.req.raw.signal));
      } finally {
        leave();
      }
    },
  );
  api.get('/production-checks', async (c) =>
    c.json({ checks: await recentProductionChecks(db, p.wholeNumber(q(c), 'limit', 1, 100, 10)) }),
  );
  api.get('/history', async (c) => {
    const query = q(c);
    const to = p.day(query, 'to', dayOf(new Date()));
    // 90 days before `to`, or the first day there is.
    const from = p.day(query, 'from', [addDays(to, -90), FIRST_DAY].sort().at(-1)!);
    const source = query.source?.trim() || null;
    if (source !== null && !isSourceName(source)) {
      throw new HttpError(
        400,
        `invalid parameter source: expected one of ${SOURCE_NAMES.join(', ')}, got ${JSON.stringify(source.slice(0, 40))}`,
        'source',
      );
    }
    const [pair, interval, format] = [p.pair(query, 'pair'), p.oneOf(query, 'interval', INTERVALS, 'day'), historyFormat(c, query)];
    if (format !== 'json') {
      const plan = await planHistory(db, pair, { from, to }, interval, source);
      return streamedHistory(c, db, plan, format, await answers.dataVersion(), log);
    }
    const history = await pairHistory(db, pair, { from, to }, interval, source);
    return c.json(history, 200, { 'Cache-Control': dayCacheControl(to), Vary: 'Accept' });
  });
  api.get('/runs', async (c) => c.json({ runs: await recentRuns(db, p.wholeNumber(q(c), 'limit', 1, 1000, 20)) }));
  api.get('/freshness', async (c) => c.json({ freshness: await sourceFreshness(db, sources, new Date()) }));
  api.get('/currencies', async (c) => c.json({ currencies: await ratedCurrencies(db) }));
  api.get('/comparison', async (c) => {
    const pair = p.pair(q(c), 'pair');
    return c.json(await sourceComparison(db, pair.base, pair.quote));
  });
  api.get('/history-range', async (c) => {
    const pair = p.pair(q(c), 'pair');
    return c.json(await historyRange(db, pair.base, pair.quote));
  });
  api.get('/rejected', async (c) => c.json(await recentRejects(db, p.wholeNumber(q(c), 'hours', 1, 24 * 366, 24))));
  api.get('/archive', async (c) => c.json(await archiveStatus(db)));
  app.route('/api/v1', api);
  // After /api/v1: its routes only (no catch-all), for clients that let only the host be set.
  app.route('/api', oxrApp(db, options.token, answers, { catchAll: false }));

  // Stand in for the providers production systems call, in their own formats (docs/backup.md).
  const frankfurter = frankfurterApp(db, options.token, answers);
  // Before /frankfurter, which would take /frankfurter/v2/… for v1's routes.
  app.route('/frankfurter/v2', frankfurterV2App(db, options.token, answers));
  app.route('/frankfurter/v1', frankfurter);
  app.route('/frankfurter', frankfurter);
  app.route('/openexchangerates/api', oxrApp(db, options.token, answers, { catchAll: true }));
  app.route('/exchangerate-api/v6', exchangerateApiApp(db, options.token, answers));
  app.route('/open-er-api/v6', openErApiApp(db, options.token, answers));
  app.route('/fixer', fixerApp(db, options.token, answers));

  app.notFound((c) => c.json({ error: `no such route: ${c.req.method} ${c.req.path}` }, 404));
  // What went wrong inside (hosts, ports, paths, database names) goes to the log with the request's id, never to the
  // caller: a down database is a 503 in the route's own family's shape.
  app.onError((error, c) => {
    if (error instanceof HTTPException) return error.getResponse();
    const logged = { requestId: c.get('requestId'), path: loggedPath(c.req.path), err: oneLine(error) };
    if (databaseDown(error)) {
      log.warn(logged, 'database unreachable');
      return unavailableAnswer(familyOf(c.req.path));
    }
    log.error(logged, 'request failed');
    return c.json({ error: 'internal error', requestId: c.get('requestId') }, 500);
  });
  return app as unknown as Hono;
}

/** What reading a request's body gives, or a 408 when it has not all arrived within ms. */
async function within<T>(reading: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new HttpError(408, `the body did not arrive within ${ms / 1000} s; nothing was checked or stored`)),
      ms,
    );
  });
  try {
    return await Promise.race([reading, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function drain(body: ReadableStream<Uint8Array> | null): Promise<void> {
  if (body) for await (const _ of body as unknown as AsyncIterable<Uint8Array>) void _;
}

function q(c: Context): Record<string, string | undefined> {
  return c.req.query();
}
