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

/** A GET request to baseUrl + path (+ query); tolerates trailing slashes on the base URL. */
export function buildRequest(parts: RequestParts): SourceRequest {
  const base = parts.baseUrl.replace(/\/+$/, '');
  const params = parts.params ?? {};
  const query = Object.keys(params).length > 0 ? `?${new URLSearchParams(params).toString()}` : '';
  return {
    url: `${base}${parts.path}${query}`,
    redactedUrl: `${base}${parts.redactedPath ?? parts.path}${query}`,
    headers: { 'user-agent': USER_AGENT, accept: parts.accept ?? 'application/json' },
    params,
    secrets: parts.secrets ?? [],
  };
}
