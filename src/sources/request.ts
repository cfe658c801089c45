import { requestTarget } from '../util/secrets.js';
import { fxpipeVersion } from '../util/version.js';
import type { SourceRequest } from './types.js';

export const USER_AGENT = `fxpipe/${fxpipeVersion}`;

export interface RequestParts {
  baseUrl: string;
  /** Path below the base URL, starting with '/'. */
  path: string;
  /** The same path with secrets replaced by ***; defaults to path. */
  redactedPath?: string;
  /** Query parameters. */
  params?: Record<string, string>;
  secrets?: string[];
  /** Accept header; defaults to application/json. */
  accept?: string;
}

/**
 * A GET request to baseUrl + path (+ query); tolerates trailing slashes on the base URL. A base URL's user-info is sent
 * as HTTP basic authentication, never as part of the URL (src/util/secrets.ts): neither URL holds it.
 */
export function buildRequest(parts: RequestParts): SourceRequest {
  const target = requestTarget(parts.baseUrl);
  const base = target.url.replace(/\/+$/, '');
  const params = parts.params ?? {};
  const query = Object.keys(params).length > 0 ? `?${new URLSearchParams(params).toString()}` : '';
  return {
    url: `${base}${parts.path}${query}`,
    redactedUrl: `${base}${parts.redactedPath ?? parts.path}${query}`,
    headers: { 'user-agent': USER_AGENT, accept: parts.accept ?? 'application/json', ...target.headers },
    params,
    secrets: [...(parts.secrets ?? []), ...target.secrets],
  };
}
