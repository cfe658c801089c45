/**
 * The answer families `serve` speaks, by path: the providers' (docs/backup.md) and fxpipe's own `/api/v1`. Each has its
 * own error shape; a route of a family answers its failures in it, never in another's.
 */
export type Family = 'frankfurter' | 'frankfurter-v2' | 'oxr' | 'exchangerate-api' | 'open-er-api' | 'fixer' | 'api';

/**
 * OXR's routes are also answered at the root (/api/latest.json, …): some of its clients let only the host be set.
 */
export const OXR_ROOT_PATHS = ['/api/latest.json', '/api/historical/', '/api/time-series.json', '/api/convert/', '/api/currencies.json'];
/** The backup families' prefixes: each checks the token where its provider carries its key. */
export const BACKUP_PREFIXES = [
  '/frankfurter/',
  '/openexchangerates/',
  '/exchangerate-api/',
  '/open-er-api/',
  '/fixer/',
  ...OXR_ROOT_PATHS,
];

export function familyOf(path: string): Family {
  if (path.startsWith('/frankfurter/v2/') || path === '/frankfurter/v2') return 'frankfurter-v2';
  if (path.startsWith('/frankfurter/') || path === '/frankfurter') return 'frankfurter';
  if (path.startsWith('/openexchangerates/') || OXR_ROOT_PATHS.some((prefix) => path.startsWith(prefix))) return 'oxr';
  if (path.startsWith('/exchangerate-api/')) return 'exchangerate-api';
  if (path.startsWith('/open-er-api/')) return 'open-er-api';
  if (path.startsWith('/fixer/') || path === '/fixer') return 'fixer';
  return 'api';
}

/**
 * Whether path is one of the read routes browsers may call from other origins: the backup families, /api/v1, and the
 * OpenAPI document (for documentation viewers on another host).
 */
export const crossOriginPath = (path: string): boolean =>
  familyOf(path) !== 'api' || path.startsWith('/api/v1/') || path === '/openapi.json';

/** How long a client is told to wait before asking again while the database is down. */
export const UNAVAILABLE_RETRY_AFTER_S = 5;

/**
 * The database cannot answer, in the family's own shape: a 503 that names nothing inside (no host, port, database
 * or path; the log has the cause), `no-store`, and `Retry-After`.
 */
export function unavailableAnswer(family: Family): Response {
  const message = 'the rates are unavailable for a moment: try again shortly';
  const body = {
    frankfurter: { message },
    // v2's errors carry their status (lineofflight/frankfurter, lib/versions/v2.rb, error_handler).
    'frankfurter-v2': { status: 503, message },
    oxr: { error: true, status: 503, message: 'service_unavailable', description: `Service temporarily unavailable: ${message}.` },
    'exchangerate-api': { result: 'error', 'error-type': 'service-unavailable' },
    'open-er-api': { result: 'error', 'error-type': 'service-unavailable' },
    // Fixer documents no code for this (its 503 is invalid_end_date): 500, with the HTTP status saying 503.
    fixer: { success: false, error: { code: 500, type: 'service_unavailable', info: `Service temporarily unavailable: ${message}.` } },
    api: { error: 'the database is unavailable: try again shortly' },
  }[family];
  return Response.json(body, { status: 503, headers: { 'Cache-Control': 'no-store', 'Retry-After': String(UNAVAILABLE_RETRY_AFTER_S) } });
}
