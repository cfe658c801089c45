/**
 * Where a family carries its key in the path: ExchangeRate-API v6's `/exchangerate-api/v6/{key}/…`. Matched loosely
 * (any case, repeated slashes): a path the router refuses still reaches the log.
 */
const KEY_IN_PATH = /^(\/+exchangerate-api\/+v6\/+)[^/]+/i;

/**
 * A request path as it may be logged: the key segment replaced by ***. OXR's app_id and the other families' ?token=
 * travel in the query string, which is never logged; Frankfurter and open.er-api carry no key in the path.
 */
export function loggedPath(path: string): string {
  return path.replace(KEY_IN_PATH, '$1***');
}
