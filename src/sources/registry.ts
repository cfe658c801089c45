import { ecb } from './ecb.js';
import { exchangerateApi } from './exchangerate-api.js';
import { frankfurter } from './frankfurter.js';
import { openErApi } from './open-er-api.js';
import type { Source, SourceName } from './types.js';
import { redactUrl } from '../util/secrets.js';

export const sources: Record<SourceName, Source> = {
  'open-er-api': openErApi,
  'exchangerate-api': exchangerateApi,
  frankfurter,
  ecb,
};

export function getSource(name: SourceName): Source {
  return sources[name];
}

/** The provider's base URL: FXPIPE_<NAME>_URL when set (a test server, a mirror), else the real one; no trailing slash. */
export function sourceBaseUrl(source: Source, env: NodeJS.ProcessEnv = process.env): string {
  const override = env[source.urlEnv]?.trim();
  const url = override || source.defaultBaseUrl;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`${source.urlEnv} is not a URL: ${JSON.stringify(redactUrl(url))}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new Error(`${source.urlEnv} must be an http or https URL, got ${JSON.stringify(redactUrl(url))}`);
  }
  return url.replace(/\/+$/, '');
}
