import { describe, expect, it } from 'vitest';
import { parseSourcesFlag } from '../../src/config.js';
import { getSource, sourceBaseUrl, sources } from '../../src/sources/registry.js';
import { isSourceName, SOURCE_NAMES } from '../../src/sources/types.js';

describe('source registry', () => {
  it('holds every source under its name', () => {
    expect(Object.keys(sources)).toEqual([...SOURCE_NAMES]);
    for (const name of SOURCE_NAMES) expect(getSource(name).name).toBe(name);
    expect(SOURCE_NAMES.map((name) => getSource(name).urlEnv)).toEqual([
      'FXPIPE_OPEN_ER_API_URL',
      'FXPIPE_EXCHANGERATE_API_URL',
      'FXPIPE_FRANKFURTER_URL',
      'FXPIPE_ECB_URL',
    ]);
    expect(SOURCE_NAMES.filter((name) => getSource(name).needsKey)).toEqual(['exchangerate-api']);
  });

  it('parses a comma-separated list in order (--sources, as FXPIPE_SOURCES)', () => {
    expect(parseSourcesFlag('frankfurter, open-er-api,ecb')).toEqual(['frankfurter', 'open-er-api', 'ecb']);
  });

  it('refuses unknown, repeated or no names, listing the valid ones', () => {
    expect(() => parseSourcesFlag('open-er-api,fixer')).toThrow(
      'invalid --sources "open-er-api,fixer": expected a comma-separated list of open-er-api, exchangerate-api, frankfurter, ecb',
    );
    expect(() => parseSourcesFlag(' , ')).toThrow('invalid --sources " , ": expected at least one source');
    expect(() => parseSourcesFlag('ecb,ecb')).toThrow('invalid --sources "ecb,ecb": expected each source at most once');
    expect(SOURCE_NAMES.filter(isSourceName)).toEqual([...SOURCE_NAMES]);
    expect(['fixer', 'ECB', ''].filter(isSourceName)).toEqual([]);
  });

  it('reads base URLs from FXPIPE_<NAME>_URL, falling back to the real providers', () => {
    const env = { FXPIPE_OPEN_ER_API_URL: 'http://127.0.0.1:8080/mock//', FXPIPE_ECB_URL: '  ' };
    expect(sourceBaseUrl(sources['open-er-api'], env)).toBe('http://127.0.0.1:8080/mock');
    expect(sourceBaseUrl(sources.ecb, env)).toBe('https://www.ecb.europa.eu/stats/eurofxref');
    expect(sourceBaseUrl(sources['exchangerate-api'], {})).toBe('https://v6.exchangerate-api.com');
    expect(sourceBaseUrl(sources.frankfurter, {})).toBe('https://api.frankfurter.dev');
    expect(sourceBaseUrl(sources['open-er-api'], {})).toBe('https://open.er-api.com');
  });

  it('refuses a base URL that is not http(s)', () => {
    expect(() => sourceBaseUrl(sources.frankfurter, { FXPIPE_FRANKFURTER_URL: 'not a url' })).toThrow(
      'FXPIPE_FRANKFURTER_URL is not a URL: "not a url"',
    );
    expect(() => sourceBaseUrl(sources.frankfurter, { FXPIPE_FRANKFURTER_URL: 'ftp://x' })).toThrow('must be an http or https URL');
  });
});
