import { ecb } from './ecb.js';
import { exchangerateApi } from './exchangerate-api.js';
import { frankfurter } from './frankfurter.js';
import { openErApi } from './open-er-api.js';
import { SOURCE_NAMES, type Source, type SourceName } from './types.js';

export const sources: Record<SourceName, Source> = {
  'open-er-api': openErApi,
  'exchangerate-api': exchangerateApi,
  frankfurter,
  ecb,
};

export function getSource(name: SourceName): Source {
  return sources[name];
}

function isSourceName(name: string): name is SourceName {
  return (SOURCE_NAMES as readonly string[]).includes(name);
}

/** "open-er-api, frankfurter" → the names in order; throws naming the valid names on an unknown or repeated one. */
export function parseSourceList(list: string): SourceName[] {
  const names = list.split(',').map((name) => name.trim()).filter(Boolean);
  const valid = `valid sources: ${SOURCE_NAMES.join(', ')}`;
  if (names.length === 0) throw new Error(`no source given; ${valid}`);
  const unknown = names.filter((name) => !isSourceName(name));
  if (unknown.length > 0) throw new Error(`unknown source ${unknown.map((name) => JSON.stringify(name)).join(', ')}; ${valid}`);
  const repeated = names.filter((name, index) => names.indexOf(name) !== index);
  if (repeated.length > 0) throw new Error(`source ${JSON.stringify(repeated[0])} listed more than once`);
  return names as SourceName[];
}

/** The provider's base URL: FXPIPE_<NAME>_URL when set (a test server, a mirror), else the real one; no trailing slash. */
export function sourceBaseUrl(source: Source, env: NodeJS.ProcessEnv = process.env): string {
  const override = env[source.urlEnv]?.trim();
  const url = override || source.defaultBaseUrl;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`${source.urlEnv} is not a URL: ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new Error(`${source.urlEnv} must be an http or https URL, got ${JSON.stringify(url)}`);
  }
  return url.replace(/\/+$/, '');
}
