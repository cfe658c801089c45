import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadConfig, settings, type SettingName } from '../../src/config.js';
import { scratchDir } from '../helpers/database.js';

const DIST_CONFIG = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/config.js');

/** Every setting's value as the environment would spell it: its default, or a valid value of an optional one. */
const VALID: Record<SettingName, string> = Object.fromEntries(
  Object.entries(settings).map(([name, setting]) => [
    name,
    Array.isArray(setting.default) ? setting.default.join(',') : String(setting.default),
  ]),
) as Record<SettingName, string>;
Object.assign(VALID, {
  databaseUrl: 'postgres://fx:secret@127.0.0.1:5432/fx',
  readDatabaseUrl: 'postgres://fx:secret@127.0.0.1:5432,127.0.0.1:5433/fx?target_session_attrs=prefer-standby',
  exchangerateApiKey: 'abcdefgh1234',
  webhookUrl: 'https://hook.eu1.make.com/abc123',
  apiToken: 'x'.repeat(32),
  productionUrl: 'https://rates.example.com/v6/latest/USD',
  productionFormat: 'open-er-api',
  productionFile: 'production-rates.csv',
  productionLabel: 'processor',
  embeddedPort: '5433',
  corsOrigins: 'https://shop.example,http://localhost:3000',
  lastGoodDir: '/var/lib/fxpipe/last-good',
  // A usual value as the environment spells it (unset, the warehouse's own max_rate_age stands).
  maxRateAge: '7d',
});

/** Values near the edges of what settings accept, as the environment (strings) and fxpipe.config.json (any JSON) give them. */
const SAMPLES: unknown[] = [
  '',
  ' ',
  'x',
  '0',
  '-0',
  '00',
  '007',
  '1',
  '3',
  '10',
  '99',
  '100',
  '101',
  '0.5',
  '1.5',
  '.5',
  '5.',
  '1e3',
  ' 3',
  '3 ',
  '+3',
  'NaN',
  'Infinity',
  '0x10',
  '1_000',
  'true',
  'info',
  'INFO',
  'silent',
  'direct',
  'pooled',
  'orm',
  'UTC',
  '0 */4 * * *',
  'postgres://fx:pw@db:5432/fx',
  'postgresql://db/fx',
  'postgres://',
  'postgres:///fx',
  'mysql://db/fx',
  'postgres//fx:pw@db',
  'postgres://db1,db2:5433/fx?target_session_attrs=read-write',
  'postgres://[::1]:5432/fx',
  'postgres://db/fx?target_session_attrs=master',
  'postgres:///fx?host=db1,db2&port=5432',
  'postgres://db1,db2/fx?port=1,2,3',
  'http://hooks.example',
  'https://hook.eu1.make.com/abc',
  'HTTPS://hook.example',
  ' https://hook.example',
  'https://hook.example\n',
  'https://ho\tok.example',
  'http:hook.example',
  'ftp://files.example',
  'https://',
  'open-er-api',
  'open-er-api,frankfurter',
  'ecb,ecb',
  ' ecb , frankfurter ',
  'ecb,,frankfurter',
  ',',
  'bogus',
  'none',
  'none,stale',
  'stale,none',
  'run_failed,stale,stale',
  'USD/EUR',
  'USD/EUR,USD/GBP',
  'USD/USD',
  'usd/eur',
  'USD/EUR,',
  'a'.repeat(8),
  'a'.repeat(16),
  'a'.repeat(1024),
  'a'.repeat(1025),
  0,
  -0,
  1,
  3,
  0.5,
  -1,
  1.5,
  100,
  1e15,
  1e16,
  Number.MAX_SAFE_INTEGER,
  true,
  false,
  null,
  [],
  ['ecb'],
  ['ecb', 'frankfurter'],
  ['ecb', 'ecb'],
  ['ecb', 1],
  [' ecb '],
  ['USD/EUR'],
  ['none'],
  {},
  { a: 1 },
  '7d',
  '1d',
  '36h',
  '90m',
  '1m',
  '0m',
  '0d',
  '3650d',
  '3651d',
  '7 days',
  '1 day',
  '1 hour',
  '2 minutes',
  '7D',
  ' 7d',
  '7d ',
  '7  days',
  '1.5d',
  '1w',
  '7dd',
  'd',
  '-1d',
  '87600h',
  '87601h',
  '*',
  'https://shop.example',
  'https://shop.example/',
  'HTTPS://Shop.Example:8443',
  'https://a.example,*',
  'shop.example',
  'https://shop.example/path',
  ...Object.values(VALID),
];

describe('settings', () => {
  it("a value taken as plainly valid is exactly what the setting's zod schema makes of it", () => {
    let plain = 0;
    for (const [name, setting] of Object.entries(settings)) {
      for (const raw of SAMPLES) {
        const value = (setting.rule.plain as (raw: unknown) => unknown)(raw);
        if (value === undefined) continue;
        plain++;
        const parsed = (setting.rule.schema(z) as z.ZodType).safeParse(raw);
        expect({ name, raw, accepted: parsed.success }).toEqual({ name, raw, accepted: true });
        expect({ name, raw, value }).toEqual({ name, raw, value: parsed.data });
      }
    }
    expect(plain).toBeGreaterThan(100);
  });

  it('every default, and a usual value of each optional setting, is plainly valid as the environment spells it', () => {
    for (const [name, setting] of Object.entries(settings)) {
      const value = (setting.rule.plain as (raw: unknown) => unknown)(VALID[name as SettingName]);
      expect({ name, plain: value !== undefined }).toEqual({ name, plain: true });
      if (setting.default !== undefined) expect({ name, value }).toEqual({ name, value: setting.default });
    }
  });

  it('loads zod only for a value that is not plainly valid, and then still validates with it', () => {
    const cwd = scratchDir();
    const env = Object.fromEntries(Object.entries(settings).map(([name, setting]) => [setting.env, VALID[name as SettingName]]));
    const zodLoaded = (extra: Record<string, string>) => {
      const log = path.join(cwd, `resolved-${Object.keys(extra).length}.txt`);
      // Every module resolved through the ES module loader, and what require() loaded, in a process loading the settings.
      const hooks = `import { appendFileSync } from 'node:fs';
        export async function resolve(specifier, context, next) { const r = await next(specifier, context); appendFileSync(${JSON.stringify(log)}, r.url + '\\n'); return r; }`;
      const script = `import { register, createRequire } from 'node:module';
        register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hooks)}));
        const { loadConfig } = await import(${JSON.stringify(pathToFileURL(DIST_CONFIG).href)});
        const config = loadConfig({ env: ${JSON.stringify({ ...env, ...extra })}, cwd: ${JSON.stringify(cwd)} });
        const required = Object.keys(createRequire(import.meta.url).cache);
        console.log(JSON.stringify({ retries: config.httpRetries, required }));`;
      const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd, encoding: 'utf8' })) as {
        retries: number;
        required: string[];
      };
      const resolved = readFileSync(log, 'utf8').split('\n');
      return { retries: out.retries, zod: [...resolved, ...out.required].some((file) => file.includes('/node_modules/zod/')) };
    };
    expect(zodLoaded({})).toEqual({ retries: 3, zod: false });
    // Not plain (surrounding space), yet valid: zod reads it.
    expect(zodLoaded({ FXPIPE_HTTP_RETRIES: ' 5 ' })).toEqual({ retries: 5, zod: true });
  });

  it("a value that is not plainly valid still fails with zod's wording", () => {
    const load = (env: Record<string, string>) => () => loadConfig({ env, cwd: scratchDir() });
    expect(load({ FXPIPE_HTTP_RETRIES: '1e3' })).toThrow(/^invalid setting FXPIPE_HTTP_RETRIES: "1e3" expected number between 0 and 10$/);
    expect(load({ FXPIPE_HTTP_RETRIES: '2.5' })).toThrow(
      /^invalid setting FXPIPE_HTTP_RETRIES: "2.5" expected a whole number between 0 and 10$/,
    );
    expect(load({ FXPIPE_SOURCES: 'ecb,ecb' })).toThrow(/^invalid setting FXPIPE_SOURCES: "ecb,ecb" expected each source at most once$/);
    expect(load({ FXPIPE_WEBHOOK_URL: 'ftp://files.example' })).toThrow(/^invalid setting FXPIPE_WEBHOOK_URL: expected an http\(s\) URL$/);
  });
});
