import type { Context, MiddlewareHandler } from 'hono';
import { etag } from 'hono/etag';
import type { Answer } from './last-good/latest-answers.js';

/*
 * HTTP caching, as the providers do it (docs/backup.md, "Caching"). Frankfurter (lineofflight/frankfurter, lib/app.rb,
 * lib/versions/v1.rb, v2.rb, lib/no_store_on_error.rb) sends `Cache-Control: public, max-age=86400` with an ETag per
 * query, `stale-while-revalidate`/`stale-if-error` on v2, a max-age up to the next UTC midnight on answers relative to
 * today, and `no-store` on every error. fxpipe keeps that shape and sizes max-age to how long each answer stays true.
 */

/** A closed past day (or range of them): its rates do not change. Frankfurter's v2 default. */
export const CLOSED = 'public, max-age=86400, stale-while-revalidate=86400, stale-if-error=86400';
/** What changes with any run (runs, freshness, checks): kept, but asked again each time (the ETag makes that a 304). */
export const REVALIDATE = 'public, no-cache';
/** How long a cache may keep a latest answer when no scheduler announces its next run. */
const LATEST_DEFAULT_S = 300;
/** The longest a latest answer is kept even when the next run is hours away: a manual run may come first. */
const LATEST_MAX_S = 900;
const REVALIDATE_S = 60;

/** The headers that say what an answer is: the ones a 304 keeps too. */
const DESCRIBING = ['last-modified', 'x-fxpipe-as-of', 'x-fxpipe-served-from', 'age'];

/**
 * The Cache-Control of a latest answer: fresh until the next run a scheduler announced (at most LATEST_MAX_S, and never
 * past the moment its oldest rate ages out of force), then served stale while revalidating or while the origin fails,
 * as long as its rates are in force. A last good answer served while the database is down is not to be kept at all
 * beyond the moment: max-age 0, stale-if-error while in force.
 */
export function latestCacheControl(answer: Answer, nextRunAt: Date | null, now = Date.now()): string {
  const inForceS = Math.max(0, Math.floor((Date.parse(answer.inForceUntil) - now) / 1000));
  if (answer.stale) return `public, max-age=0, stale-if-error=${inForceS}`;
  const untilRun = nextRunAt ? Math.ceil((nextRunAt.getTime() - now) / 1000) : LATEST_DEFAULT_S;
  const maxAge = Math.max(0, Math.min(untilRun, LATEST_MAX_S, inForceS));
  return `public, max-age=${maxAge}, stale-while-revalidate=${Math.min(REVALIDATE_S, inForceS)}, stale-if-error=${inForceS}`;
}

/** A day's or a range's answer: CLOSED when it ends before today (UTC), else as fresh as a latest answer would be. */
export const dayCacheControl = (lastDay: string, now = new Date()): string =>
  lastDay < now.toISOString().slice(0, 10) ? CLOSED : `public, max-age=${LATEST_DEFAULT_S}, stale-while-revalidate=${REVALIDATE_S}`;

/** A family's answer for a day or a range: Last-Modified its last publication, kept as dayCacheControl says for its last day asked. */
export function dayAnswer(c: Context, text: string, contentType: string, lastPublished: Date, lastAsked: string): Response {
  return c.body(text, 200, {
    'Content-Type': contentType,
    'Last-Modified': lastPublished.toUTCString(),
    'Cache-Control': dayCacheControl(lastAsked),
  });
}

/** Sends a latest answer: its text, validators, how long it stays true, and whether it is the database's or the last good one. */
export function sendAnswer(c: Context, answer: Answer, nextRunAt: Date | null): Response {
  c.header('Content-Type', answer.contentType);
  c.header('ETag', answer.etag);
  c.header('Last-Modified', new Date(answer.asOf).toUTCString());
  c.header('Cache-Control', latestCacheControl(answer, nextRunAt));
  c.header('X-Fxpipe-As-Of', answer.asOf);
  c.header('X-Fxpipe-Served-From', answer.stale ? 'last-good' : 'database');
  if (answer.stale) c.header('Age', String(Math.max(0, Math.floor((Date.now() - Date.parse(answer.storedAt)) / 1000))));
  return c.body(answer.body, 200);
}

/**
 * Caching for every route: a strong ETag on each successful GET (the one set, else a digest of the body: the same from
 * any instance for the same data) and 304 for a matching If-None-Match or, without one, an If-Modified-Since not older
 * than Last-Modified (RFC 9110 §13.2.2); `no-store` on every error; `private` instead of `public` when a token guards
 * the answers (a shared cache must not hand them to whoever asks).
 */
export function httpCaching(privateAnswers: boolean): MiddlewareHandler[] {
  const caching: MiddlewareHandler = async (c, next) => {
    await next();
    if (c.res.status >= 400) {
      c.res.headers.set('Cache-Control', 'no-store');
      return;
    }
    const control = c.res.headers.get('Cache-Control');
    if (privateAnswers && control?.startsWith('public')) c.res.headers.set('Cache-Control', control.replace(/^public/, 'private'));
    if (!isRead(c) || c.res.status !== 200 || c.req.header('If-None-Match') !== undefined) return;
    const since = Date.parse(c.req.header('If-Modified-Since') ?? '');
    const modified = Date.parse(c.res.headers.get('Last-Modified') ?? '');
    if (Number.isNaN(since) || Number.isNaN(modified) || Math.floor(modified / 1000) > Math.floor(since / 1000)) return;
    const headers = new Headers();
    for (const [name, value] of c.res.headers) if (name !== 'content-type' && name !== 'content-length') headers.set(name, value);
    await c.res.body?.cancel();
    c.res = new Response(null, { status: 304, headers });
  };
  const tags = etag({
    retainedHeaders: ['cache-control', 'content-location', 'date', 'etag', 'expires', 'vary', ...DESCRIBING, ...CORS_HEADERS],
  });
  return [caching, tags];
}

const isRead = (c: Context) => c.req.method === 'GET' || c.req.method === 'HEAD';

/** The CORS headers a 304 keeps, so a browser that revalidates still may read the answer. */
const CORS_HEADERS = ['access-control-allow-origin', 'access-control-expose-headers', 'cross-origin-resource-policy'];
