import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { z } from 'zod';
import { usageError } from './errors.js';
import { isSourceName, SOURCE_NAMES, type SourceName } from './sources/types.js';
import { ALERT_KINDS, type AlertKind } from './alerts/kinds.js';
import { PRODUCTION_FORMATS } from './verify/formats.js';
import { isPostgresUrl, postgresUrlProblem } from './warehouse/postgres-url.js';

type Zod = typeof z;

let zod: Zod | undefined;
/**
 * zod, loaded the first time a setting's value is not plainly valid (see Setting.plain): importing it takes ~100 ms
 * (it loads all its locales), as much as `fxpipe query` may spend on start-up in all.
 */
const loadZod = (): Zod => (zod ??= (createRequire(import.meta.url)('zod') as { z: Zod }).z);

/** One setting: where it comes from, its default, and what it accepts. */
interface Setting<T> {
  env: string;
  /** Never echoed in errors. */
  secret: boolean;
  describe: string;
  /** The value when the setting is not given (undefined: none). */
  default: T | undefined;
  /**
   * The value when raw is plainly valid (schema accepts it and gives this very value), else undefined and schema
   * decides. Never looser than schema (test/foundation/config.test.ts holds them side by side).
   */
  plain: (raw: unknown) => T | undefined;
  /** What the setting accepts, the authority and the wording of every error; raw is never undefined here. */
  schema: (z: Zod) => z.ZodType<T>;
}

/** A setting with a default, and one without (undefined when not given); the value's type is what plain gives. */
type Defined<T, D> = Omit<Setting<T>, 'default' | 'schema'> & { default: D; schema: (z: Zod) => z.ZodType<NoInfer<T>> };
const setting = <T>(definition: Defined<T, NoInfer<T>>) => definition;
const optional = <T>(definition: Defined<T, undefined>) => definition;

const POSTGRES_URL =
  'a URL of the form postgres://host:port/database (several hosts: host1:port1,host2:port2), with user:password@ before the host';
/** The schema's check: why the value is not a connection URL, never quoting it (it holds the password). */
const postgresUrlSchema = (z: Zod) => z.string({ error: POSTGRES_URL }).superRefine((value, ctx) => {
  const problem = postgresUrlProblem(value);
  if (problem !== null) ctx.addIssue({ code: 'custom', message: `${POSTGRES_URL}; ${problem}` });
});

/** A string of min to max characters. */
const plainText = (min: number, max = Infinity) => (raw: unknown) =>
  typeof raw === 'string' && raw.length >= min && raw.length <= max ? raw : undefined;
const plainChoice = <C extends string>(choices: readonly C[]) => (raw: unknown) =>
  (choices as readonly unknown[]).includes(raw) ? (raw as C) : undefined;
/** A JSON number, or decimal digits with an optional fraction (what z.coerce.number reads as the same number). */
const PLAIN_DECIMAL = /^-?\d+(\.\d+)?$/;
const plainNumber = (min: number, max: number, whole = false) => (raw: unknown) => {
  const value = typeof raw === 'number' ? raw : typeof raw === 'string' && PLAIN_DECIMAL.test(raw) ? Number(raw) : NaN;
  return value >= min && value <= max && (!whole || Number.isSafeInteger(value)) ? value : undefined;
};

/** The items of a comma-separated list, or of a JSON array of strings, trimmed, empty ones dropped. */
function listItems(raw: unknown): string[] | undefined {
  const items = typeof raw === 'string' ? raw.split(',') : Array.isArray(raw) && raw.every((item) => typeof item === 'string') ? (raw as string[]) : undefined;
  return items?.map((item) => item.trim()).filter(Boolean);
}

/** A list's checks in order, each with what it says when it fails; the plain reading and the schema apply the same. */
type ListCheck = [test: (items: string[]) => boolean, message: string];
function plainList<T>(checks: readonly ListCheck[], output: (items: string[]) => T) {
  return (raw: unknown): T | undefined => {
    const items = listItems(raw);
    return items && checks.every(([test]) => test(items)) ? output(items) : undefined;
  };
}
function listSchema<T>(z: Zod, error: string, checks: readonly ListCheck[], output: (items: string[]) => T): z.ZodType<T> {
  const list = z
    .union([z.string(), z.array(z.string())], { error })
    .transform((value) => (Array.isArray(value) ? value : value.split(',')).map((item) => item.trim()).filter(Boolean));
  return checks.reduce((schema, [test, message]) => schema.refine(test, message), list).transform(output);
}

const SOURCE_LIST = `a comma-separated list of ${SOURCE_NAMES.join(', ')}`;
const SOURCE_CHECKS: readonly ListCheck[] = [
  [(names) => names.length > 0, 'at least one source'],
  [(names) => names.every(isSourceName), SOURCE_LIST],
  [(names) => new Set(names).size === names.length, 'each source at most once'],
];
const asSources = (names: string[]) => names as SourceName[];

const ALERT_CHECKS: readonly ListCheck[] = [
  [
    (kinds) => kinds.length > 0 && ((kinds.length === 1 && kinds[0] === 'none') || kinds.every((kind) => (ALERT_KINDS as readonly string[]).includes(kind))),
    `"none" or a comma-separated list of ${ALERT_KINDS.join(', ')}`,
  ],
];
const asAlertKinds = (kinds: string[]) => (kinds[0] === 'none' ? [] : [...new Set(kinds)]) as AlertKind[];

const PAIR_CHECKS: readonly ListCheck[] = [
  [(pairs) => pairs.length > 0, 'at least one pair'],
  [(pairs) => pairs.every((pair) => /^([A-Z]{3})\/(?!\1)[A-Z]{3}$/.test(pair)), 'a comma-separated list of pairs BASE/QUOTE such as USD/EUR (upper-case ISO codes, base and quote differ)'],
];
const asPairs = (pairs: string[]) => pairs;

/** An origin as browsers send it: scheme, host and optional port, nothing after (https://shop.example:8443). */
const ORIGIN = /^https?:\/\/[a-z0-9.-]+(:\d{1,5})?$|^\*$/i;
const CORS_CHECKS: readonly ListCheck[] = [
  [(origins) => origins.length > 0, 'at least one origin, or *'],
  [(origins) => origins.every((origin) => ORIGIN.test(origin)), 'origins such as https://shop.example or http://localhost:3000 (scheme, host, port; no path), or *'],
];
const asOrigins = (origins: string[]) => (origins.includes('*') ? ['*'] : origins.map((origin) => origin.toLowerCase()));

/** An http(s) URL as written: no surrounding space, tab or line break (which z.url would strip), a lower-case scheme. */
function plainWebhookUrl(raw: unknown): string | undefined {
  if (typeof raw !== 'string' || raw !== raw.trim() || /[\t\n\r]/.test(raw) || !/^https?:\/\//.test(raw) || !URL.canParse(raw)) return undefined;
  return ['http:', 'https:'].includes(new URL(raw).protocol) ? raw : undefined;
}

/** A duration in whole days, hours or minutes: 7d, 36h, 90m, or spelled as PostgreSQL writes intervals, 7 days, 1 hour. */
const DURATION = /^(\d{1,7}) ?(d|days?|h|hours?|m|minutes?)$/;
const DURATION_MS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000 };
export const MAX_RATE_AGE = 'a duration of whole days, hours or minutes from 1m to 3650d, such as 7d, 36h, 90m or "7 days"';
/** The duration's milliseconds when it is one from 1 minute to 3650 days (FXPIPE_MAX_RATE_AGE, `db settings --max-rate-age`). */
export function parseMaxRateAge(text: string): number | undefined {
  const match = DURATION.exec(text);
  const ms = match ? Number(match[1]) * DURATION_MS[match[2]![0]!]! : NaN;
  return ms >= 60_000 && ms <= 3650 * 86_400_000 ? ms : undefined;
}

/** A whole number of minutes as parseMaxRateAge reads it, in the largest unit that divides it: 7d, 36h, 90m. */
export function durationText(ms: number): string {
  const unit = (['d', 'h', 'm'] as const).find((u) => ms % DURATION_MS[u]! === 0) ?? 'm';
  return `${Math.round(ms / DURATION_MS[unit]!)}${unit}`;
}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
const DRIVERS = ['direct', 'pooled'] as const;

/** A number from min to max: with `whole`, an integer. */
const numberSetting = (min: number, max: number, what: string, whole = false) => ({
  plain: plainNumber(min, max, whole),
  schema: (z: Zod) => {
    const bounds = `${what} between ${min} and ${max}`;
    const number = z.coerce.number({ error: bounds }).min(min, bounds).max(max, bounds);
    return whole ? number.int(`a whole ${bounds}`) : number;
  },
});

/**
 * Every setting: its key in fxpipe.config.json, its environment variable, its default and what it accepts.
 * Environment variables override the file. Secret settings are never echoed in errors.
 */
export const settings = {
  databaseUrl: optional({
    env: 'DATABASE_URL',
    default: undefined,
    plain: (raw) => (typeof raw === 'string' && isPostgresUrl(raw) ? raw : undefined),
    schema: postgresUrlSchema,
    secret: true,
    describe: 'PostgreSQL to use instead of the embedded server; several hosts (libpq\'s form) are tried in turn, '
      + 'target_session_attrs says which one writes',
  }),
  readDatabaseUrl: optional({
    env: 'FXPIPE_READ_DATABASE_URL',
    default: undefined,
    plain: (raw) => (typeof raw === 'string' && isPostgresUrl(raw) ? raw : undefined),
    schema: postgresUrlSchema,
    secret: true,
    describe: 'where serve\'s reads and the commands that only read (status, query, advise) go: a standby, '
      + 'e.g. with target_session_attrs=prefer-standby',
  }),
  home: setting({
    env: 'FXPIPE_HOME',
    default: '.fxpipe',
    plain: plainText(1),
    schema: (z) => z.string().min(1, 'a directory path'),
    secret: false,
    describe: 'directory for the embedded server, its password and archives',
  }),
  logLevel: setting({
    env: 'FXPIPE_LOG_LEVEL',
    default: 'info',
    plain: plainChoice(LOG_LEVELS),
    schema: (z) => z.enum(LOG_LEVELS),
    secret: false,
    describe: 'log level',
  }),
  driver: setting({
    env: 'FXPIPE_DRIVER',
    default: 'direct',
    plain: plainChoice(DRIVERS),
    schema: (z) => z.enum(DRIVERS),
    secret: false,
    describe: 'database access path of the commands that work on either (run, db init, schedule, status…): direct or pooled',
  }),
  sources: setting({
    env: 'FXPIPE_SOURCES',
    default: ['open-er-api', 'frankfurter'] as SourceName[],
    plain: plainList(SOURCE_CHECKS, asSources),
    schema: (z) => listSchema(z, SOURCE_LIST, SOURCE_CHECKS, asSources),
    secret: false,
    describe: 'sources in order, which is their rank: the first is the primary, the second the fallback, the rest references; when the primary fails the next ones are tried in turn',
  }),
  exchangerateApiKey: optional({
    env: 'EXCHANGERATE_API_KEY',
    default: undefined,
    plain: plainText(8),
    schema: (z) => z.string().min(8, 'an API key'),
    secret: true,
    describe: 'API key of the keyed exchangerate-api source',
  }),
  changeThresholdPct: setting({
    env: 'FXPIPE_CHANGE_THRESHOLD_PCT',
    default: 0,
    ...numberSetting(0, 100, 'a percentage'),
    secret: false,
    describe: 'history stores a rate only when it moved more than this % from the last stored one (0: every value that differs; exact repeats are never stored twice)',
  }),
  asOfSkewMinutes: setting({
    env: 'FXPIPE_AS_OF_SKEW_MINUTES',
    default: 10,
    ...numberSetting(0, 1440, 'a number of minutes'),
    secret: false,
    describe: "a payload whose as-of is later than its arrival plus this many minutes (clock skew) is that source's failure",
  }),
  maxRateAge: optional({
    env: 'FXPIPE_MAX_RATE_AGE',
    // In milliseconds. The warehouse's own setting (fxpipe_settings.max_rate_age) is what counts: this is the value
    // `db init` gives a warehouse it creates; a job whose value differs says so and uses the warehouse's.
    default: undefined,
    plain: (raw) => (typeof raw === 'string' ? parseMaxRateAge(raw) : undefined),
    schema: (z) => z.string({ error: MAX_RATE_AGE }).refine((text) => parseMaxRateAge(text) !== undefined, MAX_RATE_AGE).transform((text) => parseMaxRateAge(text)!),
    secret: false,
    describe: "the max_rate_age `fxpipe db init` gives a warehouse it creates (default 7d: long enough for the ECB's Easter and Christmas closures): "
      + "a rate is in force while its source's latest publication carries it and is at most this old; `fxpipe db settings` changes a warehouse's",
  }),
  deviationTolerancePct: setting({
    env: 'FXPIPE_DEVIATION_TOLERANCE_PCT',
    default: 0.5,
    ...numberSetting(0, 100, 'a percentage'),
    secret: false,
    describe: 'flag a rate deviating more than this % from a reference source',
  }),
  zScoreThreshold: setting({
    env: 'FXPIPE_ZSCORE_THRESHOLD',
    default: 4,
    ...numberSetting(1, 1000, 'a number'),
    secret: false,
    describe: "flag a move beyond this many standard deviations of the pair's recent moves",
  }),
  httpConnectTimeoutMs: setting({
    env: 'FXPIPE_HTTP_CONNECT_TIMEOUT_MS',
    default: 5000,
    ...numberSetting(100, 120_000, 'number of milliseconds', true),
    secret: false,
    describe: 'connect timeout per request',
  }),
  httpTimeoutMs: setting({
    env: 'FXPIPE_HTTP_TIMEOUT_MS',
    default: 20_000,
    ...numberSetting(100, 600_000, 'number of milliseconds', true),
    secret: false,
    describe: 'total timeout per request attempt',
  }),
  httpRetries: setting({
    env: 'FXPIPE_HTTP_RETRIES',
    default: 3,
    ...numberSetting(0, 10, 'number', true),
    secret: false,
    describe: 'retries on network errors, 5xx and 429',
  }),
  httpMaxBytes: setting({
    env: 'FXPIPE_HTTP_MAX_BYTES',
    default: 5 * 1024 * 1024,
    ...numberSetting(1024, 1 << 30, 'number of bytes', true),
    secret: false,
    describe: 'largest response accepted',
  }),
  cron: setting({
    env: 'FXPIPE_CRON',
    default: '0 */4 * * *',
    plain: plainText(1),
    schema: (z) => z.string().min(1, 'a cron pattern'),
    secret: false,
    describe: 'when `fxpipe schedule` runs the pipeline',
  }),
  timezone: setting({
    env: 'FXPIPE_TIMEZONE',
    default: 'UTC',
    plain: plainText(1),
    schema: (z) => z.string().min(1, 'an IANA time zone'),
    secret: false,
    describe: 'time zone of the cron pattern',
  }),
  embeddedPort: optional({
    env: 'FXPIPE_PORT',
    default: undefined,
    ...numberSetting(1, 65_535, 'port number', true),
    secret: false,
    describe: 'the embedded server\'s port (default: the one it first started on, recorded in FXPIPE_HOME/port)',
  }),
  tlsCert: optional({
    env: 'FXPIPE_TLS_CERT',
    default: undefined,
    plain: plainText(1),
    schema: (z) => z.string().min(1, 'a file name'),
    secret: false,
    describe: 'PEM certificate (chain) `db start --listen` serves TLS with, instead of the one fxpipe generates (with FXPIPE_TLS_KEY)',
  }),
  tlsKey: optional({
    env: 'FXPIPE_TLS_KEY',
    default: undefined,
    plain: plainText(1),
    schema: (z) => z.string().min(1, 'a file name'),
    secret: false,
    describe: "the unencrypted PEM private key of FXPIPE_TLS_CERT's certificate",
  }),
  lockWaitMs: setting({
    env: 'FXPIPE_LOCK_WAIT_MS',
    default: 5000,
    ...numberSetting(0, 3_600_000, 'number of milliseconds', true),
    secret: false,
    describe: 'how long a run waits for another run to finish before giving up',
  }),
  webhookUrl: optional({
    env: 'FXPIPE_WEBHOOK_URL',
    default: undefined,
    plain: plainWebhookUrl,
    schema: (z) => z.url({ protocol: /^https?$/, error: 'an http(s) URL' }),
    // A Make.com webhook URL is a bearer secret: whoever has it can post into the scenario.
    secret: true,
    describe: 'where alerts are POSTed as JSON (e.g. a Make.com custom webhook); no alerts when unset',
  }),
  alerts: setting({
    env: 'FXPIPE_ALERTS',
    default: [...ALERT_KINDS] as AlertKind[],
    plain: plainList(ALERT_CHECKS, asAlertKinds),
    schema: (z) => listSchema(z, 'a comma-separated list', ALERT_CHECKS, asAlertKinds),
    secret: false,
    describe: 'alert kinds to send, comma-separated, or "none"',
  }),
  watchPairs: setting({
    env: 'FXPIPE_WATCH_PAIRS',
    default: ['USD/EUR', 'USD/GBP', 'USD/JPY'],
    plain: plainList(PAIR_CHECKS, asPairs),
    schema: (z) => listSchema(z, 'a comma-separated list', PAIR_CHECKS, asPairs),
    secret: false,
    describe: 'pairs whose moves raise pair_moved alerts',
  }),
  alertMovePct: setting({
    env: 'FXPIPE_ALERT_MOVE_PCT',
    default: 2,
    ...numberSetting(0, 100, 'a percentage'),
    secret: false,
    describe: 'a watched pair moving more than this % against its previous stored rate raises pair_moved',
  }),
  webhookTimeoutMs: setting({
    env: 'FXPIPE_WEBHOOK_TIMEOUT_MS',
    default: 3000,
    ...numberSetting(100, 10_000, 'number of milliseconds', true),
    secret: false,
    describe: 'timeout of each webhook attempt (3 attempts at most, 10 s in all)',
  }),
  apiToken: optional({
    env: 'FXPIPE_API_TOKEN',
    default: undefined,
    plain: plainText(16, 1024),
    schema: (z) => z.string().min(16, 'at least 16 characters').max(1024, 'at most 1024 characters'),
    secret: true,
    describe: 'bearer token fxpipe serve requires for its API, metrics and dashboard (none: open)',
  }),
  corsOrigins: optional({
    env: 'FXPIPE_CORS_ORIGINS',
    default: undefined,
    plain: plainList(CORS_CHECKS, asOrigins),
    schema: (z) => listSchema(z, 'a comma-separated list', CORS_CHECKS, asOrigins),
    secret: false,
    describe: 'serve: the web origins (https://shop.example) whose pages may call the backup families and /api/v1 from a browser, comma-separated, or * for any; default * without FXPIPE_API_TOKEN, none with it',
  }),
  lastGoodDir: optional({
    env: 'FXPIPE_LAST_GOOD_DIR',
    default: undefined,
    plain: plainText(1),
    schema: (z) => z.string().min(1, 'a directory path'),
    secret: false,
    describe: 'serve: where the last good latest answers are kept, to be answered while the database is down (default FXPIPE_HOME/last-good; instances may share it)',
  }),
  serveDatabaseTimeoutMs: setting({
    env: 'FXPIPE_SERVE_DB_TIMEOUT_MS',
    default: 2000,
    ...numberSetting(100, 60_000, 'number of milliseconds', true),
    secret: false,
    describe: 'serve: a latest answer the database has not given within this long is answered from the last good ones',
  }),
  productionUrl: optional({
    env: 'FXPIPE_PRODUCTION_URL',
    default: undefined,
    plain: plainWebhookUrl,
    schema: (z) => z.url({ protocol: /^https?$/, error: 'an http(s) URL' }),
    // It may carry the production provider's key (app_id=…, a path segment).
    secret: true,
    describe: 'schedule: after each run, check the rates this endpoint answers (in FXPIPE_PRODUCTION_FORMAT) against the consensus, as fxpipe verify --url does',
  }),
  productionFormat: optional({
    env: 'FXPIPE_PRODUCTION_FORMAT',
    default: undefined,
    plain: plainChoice(PRODUCTION_FORMATS),
    schema: (z) => z.enum(PRODUCTION_FORMATS),
    secret: false,
    describe: `the format FXPIPE_PRODUCTION_URL answers in: ${PRODUCTION_FORMATS.join(', ')}`,
  }),
  productionFile: optional({
    env: 'FXPIPE_PRODUCTION_FILE',
    default: undefined,
    plain: plainText(1),
    schema: (z) => z.string().min(1, 'a file path'),
    secret: false,
    describe: 'schedule: or check the rates in this file (CSV or JSON, as fxpipe verify --file reads) after each run',
  }),
  productionTolerancePct: setting({
    env: 'FXPIPE_PRODUCTION_TOLERANCE_PCT',
    default: 0.5,
    ...numberSetting(0, 100, 'a percentage'),
    secret: false,
    describe: 'a production rate within this % of the consensus is ok (fxpipe verify\'s default --tolerance)',
  }),
  verifyTimeoutMs: setting({
    env: 'FXPIPE_VERIFY_TIMEOUT_MS',
    default: 900_000,
    ...numberSetting(1000, 3_600_000, 'number of milliseconds', true),
    secret: false,
    describe: 'the longest one production check (fxpipe verify, POST /api/v1/verify, the scheduled check) may take; beyond it, it is cancelled and nothing is stored',
  }),
  verifyMaxRows: setting({
    env: 'FXPIPE_VERIFY_MAX_ROWS',
    default: 1_000_000,
    ...numberSetting(1, 10_000_000, 'number of rows', true),
    secret: false,
    describe: 'the most rows one production check takes; a file with more is refused whole (exit 2), before any row is compared',
  }),
  productionLabel: optional({
    env: 'FXPIPE_PRODUCTION_LABEL',
    default: undefined,
    plain: plainText(1, 200),
    schema: (z) => z.string().min(1, 'a name').max(200, 'at most 200 characters'),
    secret: false,
    describe: 'the label stored with each scheduled production check (default "scheduled")',
  }),
  adviseKafkaWritesPerSecond: setting({
    env: 'FXPIPE_ADVISE_KAFKA_WRITES_PER_S',
    default: 1000,
    ...numberSetting(0.001, 1e9, 'a number of rate observations per second'),
    secret: false,
    describe: 'advise: sustained observations/s at which a stream (Kafka) is recommended',
  }),
  adviseTimescaleRows: setting({
    env: 'FXPIPE_ADVISE_TIMESCALE_ROWS',
    default: 10_000_000,
    ...numberSetting(1, 1e15, 'number of rows', true),
    secret: false,
    describe: 'advise: history rows (hot + archived) at which TimescaleDB is recommended',
  }),
  adviseRefreshSeconds: setting({
    env: 'FXPIPE_ADVISE_REFRESH_SECONDS',
    default: 60,
    ...numberSetting(0.001, 86_400, 'a number of seconds'),
    secret: false,
    describe: 'advise: view refresh time per run at which TimescaleDB (continuous aggregates) is recommended',
  }),
  adviseClickhouseRows: setting({
    env: 'FXPIPE_ADVISE_CLICKHOUSE_ROWS',
    default: 1_000_000_000,
    ...numberSetting(1, 1e15, 'number of rows', true),
    secret: false,
    describe: 'advise: history rows at which ClickHouse is worth considering',
  }),
  adviseHotDays: setting({
    env: 'FXPIPE_ADVISE_HOT_DAYS',
    default: 90,
    ...numberSetting(1, 36_500, 'number of days', true),
    secret: false,
    describe: 'advise: age of the oldest hot history month beyond which archiving to Parquet is recommended',
  }),
  advisePoolConnections: setting({
    env: 'FXPIPE_ADVISE_POOL_CONNECTIONS',
    default: 10,
    ...numberSetting(1, 100_000, 'number of connections', true),
    secret: false,
    describe: 'advise: concurrent client connections at which a connection pool is recommended',
  }),
  adviseHorizonMonths: setting({
    env: 'FXPIPE_ADVISE_HORIZON_MONTHS',
    default: 12,
    ...numberSetting(1, 1200, 'number of months', true),
    secret: false,
    describe: 'advise: a threshold projected to be crossed within this many months makes the verdict "consider"',
  }),
} as const;

type Settings = typeof settings;
type ValueOf<S extends Defined<unknown, unknown>> = Exclude<ReturnType<S['plain']>, undefined> | S['default'];
export type Config = { [K in keyof Settings]: ValueOf<Settings[K]> };
export type SettingName = keyof Settings;

export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Reads fxpipe.config.json (or FXPIPE_CONFIG) and the environment, validated; throws a usage error naming the setting. */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const fileValues = readConfigFile(env, cwd);
  const out: Record<string, unknown> = {};
  for (const [key, setting] of Object.entries(settings) as [SettingName, Settings[SettingName]][]) {
    const fromEnv = env[setting.env];
    const raw = fromEnv !== undefined && fromEnv !== '' ? fromEnv : fileValues.values[key];
    const where = fromEnv !== undefined && fromEnv !== '' ? setting.env : `${key} in ${fileValues.path}`;
    if (raw === undefined) {
      out[key] = Array.isArray(setting.default) ? [...setting.default] : setting.default;
      continue;
    }
    out[key] = setting.plain(raw) ?? checked(setting as Setting<unknown>, raw, (allowed) => {
      const shown = setting.secret ? '' : ` ${JSON.stringify(raw)}`;
      return `invalid setting ${where}:${shown} expected ${allowed}`;
    });
  }
  if (out.readDatabaseUrl !== undefined && out.databaseUrl === undefined) {
    throw usageError('FXPIPE_READ_DATABASE_URL is set without DATABASE_URL: a standby replicates your own PostgreSQL, '
      + 'not the embedded server; set DATABASE_URL to the primary (or to every host)');
  }
  out.home = path.resolve(cwd, out.home as string);
  return out as Config;
}

/** raw as the setting's schema reads it; a usage error (failure says what was expected) when it does not accept it. */
function checked<T>(setting: Pick<Setting<T>, 'schema'>, raw: unknown, failure: (allowed: string) => string): T {
  const parsed = setting.schema(loadZod()).safeParse(raw);
  if (!parsed.success) throw usageError(failure(parsed.error.issues.map(describeIssue).join('; ')));
  return parsed.data;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_value') return `one of ${issue.values.map(String).join(', ')}`;
  // zod's own wording ("Invalid input: expected string, received number") is not for users.
  if (issue.code === 'invalid_type' && /^Invalid input/.test(issue.message)) return `a ${issue.expected === 'array' ? 'list' : issue.expected} value`;
  return issue.message;
}

function readConfigFile(env: NodeJS.ProcessEnv, cwd: string): { path: string; values: Record<string, unknown> } {
  const explicit = env.FXPIPE_CONFIG;
  const file = path.resolve(cwd, explicit ?? 'fxpipe.config.json');
  if (!existsSync(file)) {
    if (explicit) throw usageError(`FXPIPE_CONFIG: no such file ${file}`);
    return { path: file, values: {} };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw usageError(`${file}: not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw usageError(`${file}: expected a JSON object of settings`);
  }
  const unknown = Object.keys(parsed).filter((key) => !(key in settings));
  if (unknown.length > 0) {
    throw usageError(`${file}: unknown setting ${unknown[0]} (known: ${Object.keys(settings).join(', ')})`);
  }
  return { path: file, values: parsed as Record<string, unknown> };
}

/** Validates a --sources flag with the same rules as FXPIPE_SOURCES (an empty value is an error, not the default). */
export function parseSourcesFlag(value: string, flag = '--sources'): SourceName[] {
  return settings.sources.plain(value) ?? checked(settings.sources, value, (allowed) => `invalid ${flag} ${JSON.stringify(value)}: expected ${allowed}`);
}
