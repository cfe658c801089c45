import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';

export const TOKEN_COOKIE = 'fxpipe_token';

const digest = (text: string) => createHash('sha256').update(text).digest();

/** Constant-time: the comparison takes as long whatever the guess. */
export function tokenMatches(expected: string, given: string | undefined): boolean {
  return given !== undefined && timingSafeEqual(digest(expected), digest(given));
}

/** The token of an `Authorization: Bearer …` header, if any. */
export const bearerToken = (c: Context): string | undefined => c.req.header('authorization')?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];

function presented(c: Context): string | undefined {
  return bearerToken(c) ?? getCookie(c, TOKEN_COOKIE);
}

/**
 * With a token configured, every route but /healthz, /login and those under ownAuth (which check it themselves) needs it: as `Authorization: Bearer …` (API
 * clients, Prometheus) or the cookie the login form sets (the dashboard in a browser).
 */
export function requireToken(token: string | undefined, ownAuth: readonly string[] = []): MiddlewareHandler {
  return async (c, next) => {
    if (!token || c.req.path === '/healthz' || c.req.path === '/login') return next();
    // The backup endpoints take the token where their provider carries its key (docs/backup.md).
    if (ownAuth.some((prefix) => c.req.path.startsWith(prefix))) return next();
    if (tokenMatches(token, presented(c))) return next();
    c.header('WWW-Authenticate', 'Bearer realm="fxpipe"');
    if (c.req.path.startsWith('/api/') || c.req.path === '/metrics') {
      return c.json({ error: 'missing or wrong token: send Authorization: Bearer <FXPIPE_API_TOKEN>' }, 401);
    }
    return c.html(LOGIN_PAGE, 401);
  };
}

/** POST /login: the token from the form, checked, kept in an HttpOnly cookie for this site only. */
export function login(token: string | undefined): (c: Context) => Promise<Response> {
  return async (c) => {
    const body = await c.req.parseBody();
    const given = typeof body.token === 'string' ? body.token : undefined;
    if (!token || !tokenMatches(token, given)) return c.html(LOGIN_PAGE.replace('<!--error-->', '<p class="error">Wrong token.</p>'), 401);
    setCookie(c, TOKEN_COOKIE, given!, { httpOnly: true, sameSite: 'Strict', path: '/' });
    return c.redirect('/', 303);
  };
}

const LOGIN_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>fxpipe: sign in</title>
</head><body><main class="login"><h1>fxpipe</h1>
<p>This dashboard needs the API token (<code>FXPIPE_API_TOKEN</code>).</p><!--error-->
<form method="post" action="/login"><label>Token <input type="password" name="token" autocomplete="current-password" required></label>
<button type="submit">Sign in</button></form></main></body></html>`;
