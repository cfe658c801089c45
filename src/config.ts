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

/**
 * What a setting accepts: its zod schema, the authority and the wording of every error, with the plain reading that
 * spares loading zod for a value plainly valid. Each kind of rule below makes both from the same parameters; the plain
 * reading is never looser than the schema and gives the very value it gives (test/foundation/config.test.ts holds them
 * side by side).
 */
export interface Rule<T> {
  /** The value when raw is plainly valid, else undefined and schema decides. */
  plain: (raw: unknown) => T | undefined;
  /** raw is never undefined here. */
  schema: (z: Zod) => z.ZodType<T>;
}

/** One setting: where it comes from, its default, what it accepts, and README's words for it (`npm run docs:settings`). */
export interface Setting<T> {
  env: string;
  /** Never echoed in errors. */
  secret: boolean;
  /** The value when the setting is not given (undefined: none). */
  default: T | undefined;
  /** README's "default" column (Markdown) where the value itself does not say it; else the value, or — for none. */
  shownDefault?: string;
  rule: Rule<T>;
  /** README's "meaning" column (Markdown). */
  description: string;
}

/** A setting with a default, and one without (undefined when not given); the value's type is what its rule gives. */
type Defined<T, D> = Omit<Setting<T>, 'default' | 'rule'> & { default: D; rule: Rule<T> };
const setting = <T>(definition: Defined<T, NoInfer<T>>) => definition;
const optional = <T>(definition: Defined<T, undefined>) => definition;

const POSTGRES_URL =
  'a URL of the form postgres://host:port/database (several hosts: host1:port1,host2:port2), with user:password@ before the host';
/** A connection URL; the schema says why a value is not one, never quoting it (it holds the password). */
const postgresUrlRule: Rule<string> = {
  plain: (raw) => (typeof raw === 'string' && isPostgresUrl(raw) ? raw : undefined),
  schema: (z) =>
    z.string({ error: POSTGRES_URL }).superRefine((value, ctx) => {
      const problem = postgresUrlProblem(value);
      if (problem !== null) ctx.addIssue({ code: 'custom', message: `${POSTGRES_URL}; ${problem}` });
    }),
};

/** A string of at least min characters (message when shorter), and at most max[0] (message max[1]). */
const textRule = (min: number, message: string, max?: [length: number, message: string]): Rule<string> => ({
  plain: (raw) => (typeof raw === 'string' && raw.length >= min && raw.length <= (max?.[0] ?? Infinity) ? raw : undefined),
  schema: (z) =>
    max
      ? z
          .string()
          .min(min, message)
          .max(...max)
      : z.string().min(min, message),
});

/** One of choices, as written. */
const choiceRule = <C extends string>(choices: readonly [C, ...C[]]): Rule<C> => ({
  plain: (raw) => ((choices as readonly unknown[]).includes(raw) ? (raw as C) : undefined),
  schema: (z) => z.enum(choices),
});

/** A JSON number, or decimal digits with an optional fraction (what z.coerce.number reads as the same number). */
const PLAIN_DECIMAL = /^-?\d+(\.\d+)?$/;
/** A number from min to max: with `whole`, an integer. */
const numberRule = (min: number, max: number, what: string, whole = false): Rule<number> => ({
  plain: (raw) => {
    const value = typeof raw === 'number' ? raw : typeof raw === 'string' && PLAIN_DECIMAL.test(raw) ? Number(raw) : NaN;
    return value >= min && value <= max && (!whole || Number.isSafeInteger(value)) ? value : undefined;
  },
  schema: (z) => {
    const bounds = `${what} between ${min} and ${max}`;
    const number = z.coerce.number({ error: bounds }).min(min, bounds).max(max, bounds);
    return whole ? number.int(`a whole ${bounds}`) : number;
  },
});

/** The items of a comma-separated list, or of a JSON array of strings, trimmed, empty ones dropped. */
function listItems(raw: unknown): string[] | undefined {
  const items =
    typeof raw === 'string' ? raw.split(',') : Array.isArray(raw) && raw.every((item) => typeof item === 'string') ? raw : undefined;
  return items?.map((item) => item.trim()).filter(Boolean);
}

/** A list's checks in order, each with what it says when it fails; the plain reading and the schema apply the same. */
type ListCheck = [test: (items: string[]) => boolean, message: string];
/** A list (error: what is expected of a value that is none) passing checks, as output makes it. */
function listRule<T>(error: string, checks: readonly ListCheck[], output: (items: string[]) => T): Rule<T> {
  return {
    plain: (raw) => {
      const items = listItems(raw);
      return items && checks.every(([test]) => test(items)) ? output(items) : undefined;
    },
    schema: (z) => {
      const list = z
        .union([z.string(), z.array(z.string())], { error })
        .transform((value) => (Array.isArray(value) ? value : value.split(',')).map((item) => item.trim()).filter(Boolean));
      return checks.reduce((schema, [test, message]) => schema.refine(test, message), list).transform(output);
    },
  };
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
    (kinds) =>
      kinds.length > 0 &&
      ((kinds.length === 1 && kinds[0] === 'none') || kinds.every((kind) => (ALERT_KINDS as readonly string[]).includes(kind))),
    `"none" or a comma-separated list of ${ALERT_KINDS.join(', ')}`,
  ],
];
const asAlertKinds = (kinds: string[]) => (kinds[0] === 'none' ? [] : [...new Set(kinds)]) as AlertKind[];

const PAIR_CHECKS: readonly ListCheck[] = [
  [(pairs) => pairs.length > 0, 'at least one pair'],
  [
    (pairs) => pairs.every((pair) => /^([A-Z]{3})\/(?!\1)[A-Z]{3}$/.test(pair)),
    'a comma-separated list of pairs BASE/QUOTE such as USD/EUR (upper-case ISO codes, base and quote differ)',
  ],
];
const asPairs = (pairs: string[]) => pairs;

/** An origin as browsers send it: scheme, host and optional port, nothing after (https://shop.example:8443). */
const ORIGIN = /^https?:\/\/[a-z0-9.-]+(:\d{1,5})?$|^\*$/i;
const CORS_CHECKS: readonly ListCheck[] = [
  [(origins) => origins.length > 0, 'at least one origin, or *'],
  [
    (origins) => origins.every((origin) => ORIGIN.test(origin)),
    'origins such as https://shop.example or http://localhost:3000 (scheme, host, port; no path), or *',
  ],
];
const asOrigins = (origins: string[]) => (origins.includes('*') ? ['*'] : origins.map((origin) => origin.toLowerCase()));

/** An http(s) URL; plainly, as written: no surrounding space, tab or line break (which z.url would strip), a lower-case scheme. */
const httpUrlRule: Rule<string> = {
  plain: (raw) => {
    if (typeof raw !== 'string' || raw !== raw.trim() || /[\t\n\r]/.test(raw)) return undefined;
    if (!/^https?:\/\//.test(raw) || !URL.canParse(raw)) return undefined;
    return ['http:', 'https:'].includes(new URL(raw).protocol) ? raw : undefined;
  },
  schema: (z) => z.url({ protocol: /^https?$/, error: 'an http(s) URL' }),
};

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

/** FXPIPE_MAX_RATE_AGE: its milliseconds. */
const maxRateAgeRule: Rule<number> = {
  plain: (raw) => (typeof raw === 'string' ? parseMaxRateAge(raw) : undefined),
  schema: (z) =>
    z
      .string({ error: MAX_RATE_AGE })
      .refine((text) => parseMaxRateAge(text) !== undefined, MAX_RATE_AGE)
      .transform((text) => parseMaxRateAge(text)!),
};

/** A whole number of minutes as parseMaxRateAge reads it, in the largest unit that divides it: 7d, 36h, 90m. */
export function durationText(ms: number): string {
  const unit = (['d', 'h', 'm'] as const).find((u) => ms % DURATION_MS[u]! === 0) ?? 'm';
  return `${Math.round(ms / DURATION_MS[unit]!)}${unit}`;
}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
const DRIVERS = ['direct', 'pooled'] as const;

/**
 * Every setting: its key in fxpipe.config.json, its environment variable, its default, what it accepts and what it is for.
 * Environment variables override the file. Secret settings are never echoed in errors.
 */
export const settings = {
  databaseUrl: optional({
    env: 'DATABASE_URL',
    default: undefined,
    secret: true,
    rule: postgresUrlRule,
    shownDefault: 'embedded server',
    description:
      "PostgreSQL to use; several hosts in libpq's form " +
      "(`postgres://u:pw@h1:5432,h2:5433/db?target_session_attrs=read-write`) are tried in turn by libpq's rules " +
      '([docs/access-paths.md](docs/access-paths.md#where-the-connection-goes)); a secret',
  }),
  readDatabaseUrl: optional({
    env: 'FXPIPE_READ_DATABASE_URL',
    default: undefined,
    secret: true,
    rule: postgresUrlRule,
    shownDefault: "`DATABASE_URL`'s",
    description:
      "where `serve`'s reads (every GET route) and `status`, `query` and `advise` go, in the same form: a standby, e.g. " +
      "`…?target_session_attrs=prefer-standby`; `serve`'s writes (`POST /api/v1/verify`) and every other command keep " +
      '`DATABASE_URL`; needs `DATABASE_URL`; a secret',
  }),
  home: setting({
    env: 'FXPIPE_HOME',
    default: '.fxpipe',
    secret: false,
    rule: textRule(1, 'a directory path'),
    shownDefault: '`./.fxpipe`',
    description: 'embedded server data, password',
  }),
  logLevel: setting({
    env: 'FXPIPE_LOG_LEVEL',
    default: 'info',
    secret: false,
    rule: choiceRule(LOG_LEVELS),
    description: '`trace` … `silent`',
  }),
  driver: setting({
    env: 'FXPIPE_DRIVER',
    default: 'direct',
    secret: false,
    rule: choiceRule(DRIVERS),
    description:
      'access path of the commands that work on either (`run`, `db init`, `schedule`, `status`, `verify`, `advise`, ' +
      '`reprocess`): `direct` (one connection) or `pooled` (a `pg.Pool`); `backfill`, `archive`, `restore` and `query` always use ' +
      '`direct` ([docs/access-paths.md](docs/access-paths.md))',
  }),
  sources: setting({
    env: 'FXPIPE_SOURCES',
    default: ['open-er-api', 'frankfurter'] as SourceName[],
    secret: false,
    rule: listRule(SOURCE_LIST, SOURCE_CHECKS, asSources),
    description: 'sources in order, which is their rank: primary, fallback, then references',
  }),
  exchangerateApiKey: optional({
    env: 'EXCHANGERATE_API_KEY',
    default: undefined,
    secret: true,
    rule: textRule(8, 'an API key'),
    description: 'key of the `exchangerate-api` source',
  }),
  changeThresholdPct: setting({
    env: 'FXPIPE_CHANGE_THRESHOLD_PCT',
    default: 0,
    secret: false,
    rule: numberRule(0, 100, 'a percentage'),
    description:
      "history stores a value only when it moved more than this % from the pair's last stored one; 0 (the default) stores " +
      'every value that differs, so every published value can be recovered; exact repeats are never stored twice',
  }),
  asOfSkewMinutes: setting({
    env: 'FXPIPE_AS_OF_SKEW_MINUTES',
    default: 10,
    secret: false,
    rule: numberRule(0, 1440, 'a number of minutes'),
    description: 'a payload whose as-of is later than its arrival plus this (clock skew) fails that source',
  }),
  maxRateAge: optional({
    env: 'FXPIPE_MAX_RATE_AGE',
    // In milliseconds. The warehouse's own setting (fxpipe_settings.max_rate_age) is what counts: this is the value
    // `db init` gives a warehouse it creates; a job whose value differs says so and uses the warehouse's.
    default: undefined,
    secret: false,
    rule: maxRateAgeRule,
    description:
      "the `max_rate_age` `db init` gives a warehouse it creates (else 7 days): a rate is in force while its source's latest " +
      'publication carries it and is at most this old, else `stale`; whole days, hours or minutes (`7d`, `36h`, `90m`, `7 days`). ' +
      "The setting is then the warehouse's own: `fxpipe db settings --max-rate-age` changes it, no job writes it, and `run`, " +
      '`schedule`, `backfill`, `reprocess` (and `db init` on an existing warehouse) whose value differs say so in one warning line ' +
      "and use the warehouse's. See [docs/schema.md](docs/schema.md#settings)",
  }),
  deviationTolerancePct: setting({
    env: 'FXPIPE_DEVIATION_TOLERANCE_PCT',
    default: 0.5,
    secret: false,
    rule: numberRule(0, 100, 'a percentage'),
    description: 'flag deviations from a reference beyond this %',
  }),
  zScoreThreshold: setting({
    env: 'FXPIPE_ZSCORE_THRESHOLD',
    default: 4,
    secret: false,
    rule: numberRule(1, 1000, 'a number'),
    description: 'flag moves beyond this many standard deviations',
  }),
  httpConnectTimeoutMs: setting({
    env: 'FXPIPE_HTTP_CONNECT_TIMEOUT_MS',
    default: 5000,
    secret: false,
    rule: numberRule(100, 120_000, 'number of milliseconds', true),
    description: 'connect timeout',
  }),
  httpTimeoutMs: setting({
    env: 'FXPIPE_HTTP_TIMEOUT_MS',
    default: 20_000,
    secret: false,
    rule: numberRule(100, 600_000, 'number of milliseconds', true),
    description: 'total timeout per attempt',
  }),
  httpRetries: setting({
    env: 'FXPIPE_HTTP_RETRIES',
    default: 3,
    secret: false,
    rule: numberRule(0, 10, 'number', true),
    description: 'retries on network errors, 5xx, 429',
  }),
  httpMaxBytes: setting({
    env: 'FXPIPE_HTTP_MAX_BYTES',
    default: 5 * 1024 * 1024,
    secret: false,
    rule: numberRule(1024, 1 << 30, 'number of bytes', true),
    description: 'largest response accepted',
  }),
  cron: setting({
    env: 'FXPIPE_CRON',
    default: '0 */4 * * *',
    secret: false,
    rule: textRule(1, 'a cron pattern'),
    description: 'when `fxpipe schedule` runs',
  }),
  timezone: setting({
    env: 'FXPIPE_TIMEZONE',
    default: 'UTC',
    secret: false,
    rule: textRule(1, 'an IANA time zone'),
    description: 'time zone of the cron pattern',
  }),
  embeddedPort: optional({
    env: 'FXPIPE_PORT',
    default: undefined,
    secret: false,
    rule: numberRule(1, 65_535, 'port number', true),
    shownDefault: 'the port first used',
    description: "the embedded server's port; kept in `FXPIPE_HOME/port` once used",
  }),
  tlsCert: optional({
    env: 'FXPIPE_TLS_CERT',
    default: undefined,
    secret: false,
    rule: textRule(1, 'a file name'),
    description:
      "`db start --listen`, `db renew-cert`: the PEM certificate (chain) to serve TLS with, instead of fxpipe's own " + 'self-signed one',
  }),
  tlsKey: optional({
    env: 'FXPIPE_TLS_KEY',
    default: undefined,
    secret: false,
    rule: textRule(1, 'a file name'),
    description: 'its unencrypted PEM private key',
  }),
  lockWaitMs: setting({
    env: 'FXPIPE_LOCK_WAIT_MS',
    default: 5000,
    secret: false,
    rule: numberRule(0, 3_600_000, 'number of milliseconds', true),
    description: 'how long a run waits for another to finish',
  }),
  webhookUrl: optional({
    env: 'FXPIPE_WEBHOOK_URL',
    default: undefined,
    // A Make.com webhook URL is a bearer secret: whoever has it can post into the scenario.
    secret: true,
    rule: httpUrlRule,
    description: 'where alerts are POSTed; a secret (see [Alerts](#alerts))',
  }),
  alerts: setting({
    env: 'FXPIPE_ALERTS',
    default: [...ALERT_KINDS] as AlertKind[],
    secret: false,
    rule: listRule('a comma-separated list', ALERT_CHECKS, asAlertKinds),
    shownDefault: 'all six kinds',
    description: 'alert kinds to send, comma-separated, or `none`',
  }),
  watchPairs: setting({
    env: 'FXPIPE_WATCH_PAIRS',
    default: ['USD/EUR', 'USD/GBP', 'USD/JPY'],
    secret: false,
    rule: listRule('a comma-separated list', PAIR_CHECKS, asPairs),
    description: 'pairs (`BASE/QUOTE`) watched for `pair_moved`',
  }),
  alertMovePct: setting({
    env: 'FXPIPE_ALERT_MOVE_PCT',
    default: 2,
    secret: false,
    rule: numberRule(0, 100, 'a percentage'),
    description: '`pair_moved` when a watched pair moves more than this %',
  }),
  webhookTimeoutMs: setting({
    env: 'FXPIPE_WEBHOOK_TIMEOUT_MS',
    default: 3000,
    secret: false,
    rule: numberRule(100, 10_000, 'number of milliseconds', true),
    description: 'timeout of each webhook attempt (100 to 10000; 3 attempts at most, 10 s in all)',
  }),
  apiToken: optional({
    env: 'FXPIPE_API_TOKEN',
    default: undefined,
    secret: true,
    rule: textRule(16, 'at least 16 characters', [1024, 'at most 1024 characters']),
    description: '`serve`: a token (16+ characters) every route but `/healthz` requires; a secret',
  }),
  corsOrigins: optional({
    env: 'FXPIPE_CORS_ORIGINS',
    default: undefined,
    secret: false,
    rule: listRule('a comma-separated list', CORS_CHECKS, asOrigins),
    shownDefault: '`*` without a token, none with one',
    description:
      '`serve`: the web origins whose pages may call the backup families and `/api/v1`, and read `/openapi.json` ' +
      '(comma-separated, or `*`) ([docs/backup.md](docs/backup.md#caching-and-calls-from-browsers))',
  }),
  lastGoodDir: optional({
    env: 'FXPIPE_LAST_GOOD_DIR',
    default: undefined,
    secret: false,
    rule: textRule(1, 'a directory path'),
    shownDefault: '`FXPIPE_HOME/last-good`',
    description:
      '`serve`: where the last good latest answers are kept, answered while the database is down; instances may share it ' +
      '([docs/backup.md](docs/backup.md#through-an-outage-the-last-good-answers))',
  }),
  serveDatabaseTimeoutMs: setting({
    env: 'FXPIPE_SERVE_DB_TIMEOUT_MS',
    default: 2000,
    secret: false,
    rule: numberRule(100, 60_000, 'number of milliseconds', true),
    description: '`serve`: a latest answer the database has not given within this long is answered from the last good ones',
  }),
  productionUrl: optional({
    env: 'FXPIPE_PRODUCTION_URL',
    default: undefined,
    // It may carry the production provider's key (app_id=…, a path segment).
    secret: true,
    rule: httpUrlRule,
    description:
      '`schedule` (and `verify` without `--file`/`--url`): the production endpoint checked after each run; a secret (it may ' +
      'carry a key)',
  }),
  productionFormat: optional({
    env: 'FXPIPE_PRODUCTION_FORMAT',
    default: undefined,
    secret: false,
    rule: choiceRule(PRODUCTION_FORMATS),
    description: `the format it answers in: ${PRODUCTION_FORMATS.map((format) => `\`${format}\``).join(', ')}`,
  }),
  productionFile: optional({
    env: 'FXPIPE_PRODUCTION_FILE',
    default: undefined,
    secret: false,
    rule: textRule(1, 'a file path'),
    description: 'or the production file checked after each run (CSV or JSON as `verify --file` reads)',
  }),
  productionTolerancePct: setting({
    env: 'FXPIPE_PRODUCTION_TOLERANCE_PCT',
    default: 0.5,
    secret: false,
    rule: numberRule(0, 100, 'a percentage'),
    description: "a production rate within this % of the consensus is `ok` (`verify`'s default `--tolerance`)",
  }),
  verifyTimeoutMs: setting({
    env: 'FXPIPE_VERIFY_TIMEOUT_MS',
    default: 900_000,
    secret: false,
    rule: numberRule(1000, 3_600_000, 'number of milliseconds', true),
    description: 'the longest one production check may take; beyond it, it is cancelled and nothing is stored',
  }),
  verifyMaxRows: setting({
    env: 'FXPIPE_VERIFY_MAX_ROWS',
    default: 1_000_000,
    secret: false,
    rule: numberRule(1, 10_000_000, 'number of rows', true),
    description:
      'the most rows one production check takes; a file with more is refused whole (exit 2) before any row is compared ' +
      '([docs/verify.md](docs/verify.md#limits-every-check-is-bounded-and-can-be-stopped))',
  }),
  productionLabel: optional({
    env: 'FXPIPE_PRODUCTION_LABEL',
    default: undefined,
    secret: false,
    rule: textRule(1, 'a name', [200, 'at most 200 characters']),
    shownDefault: '`scheduled`',
    description: 'the label stored with each scheduled check',
  }),
  adviseKafkaWritesPerSecond: setting({
    env: 'FXPIPE_ADVISE_KAFKA_WRITES_PER_S',
    default: 1000,
    secret: false,
    rule: numberRule(0.001, 1e9, 'a number of rate observations per second'),
    description: '`advise`: observations/s at which a stream (Kafka) is recommended',
  }),
  adviseTimescaleRows: setting({
    env: 'FXPIPE_ADVISE_TIMESCALE_ROWS',
    default: 10_000_000,
    secret: false,
    rule: numberRule(1, 1e15, 'number of rows', true),
    description: '`advise`: history rows (hot + archived) at which TimescaleDB is recommended',
  }),
  adviseRefreshSeconds: setting({
    env: 'FXPIPE_ADVISE_REFRESH_SECONDS',
    default: 60,
    secret: false,
    rule: numberRule(0.001, 86_400, 'a number of seconds'),
    description:
      '`advise`: median read-model rebuild per run at which TimescaleDB is recommended (the decision record\'s "view refreshes ' +
      'over a minute")',
  }),
  adviseClickhouseRows: setting({
    env: 'FXPIPE_ADVISE_CLICKHOUSE_ROWS',
    default: 1_000_000_000,
    secret: false,
    rule: numberRule(1, 1e15, 'number of rows', true),
    description: '`advise`: history rows at which ClickHouse is worth it',
  }),
  adviseHotDays: setting({
    env: 'FXPIPE_ADVISE_HOT_DAYS',
    default: 90,
    secret: false,
    rule: numberRule(1, 36_500, 'number of days', true),
    description: '`advise`: hot months older than this should move to Parquet',
  }),
  advisePoolConnections: setting({
    env: 'FXPIPE_ADVISE_POOL_CONNECTIONS',
    default: 10,
    secret: false,
    rule: numberRule(1, 100_000, 'number of connections', true),
    description: '`advise`: concurrent client connections at which a pool is recommended',
  }),
  adviseHorizonMonths: setting({
    env: 'FXPIPE_ADVISE_HORIZON_MONTHS',
    default: 12,
    secret: false,
    rule: numberRule(1, 1200, 'number of months', true),
    description: '`advise`: a threshold projected within this many months makes the verdict `consider`',
  }),
} as const;

type Settings = typeof settings;
type ValueOf<S extends Defined<unknown, unknown>> = Exclude<ReturnType<S['rule']['plain']>, undefined> | S['default'];
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
    out[key] =
      (setting.rule as Rule<unknown>).plain(raw) ??
      checked(setting.rule as Rule<unknown>, raw, (allowed) => {
        const shown = setting.secret ? '' : ` ${JSON.stringify(raw)}`;
        return `invalid setting ${where}:${shown} expected ${allowed}`;
      });
  }
  if (out.readDatabaseUrl !== undefined && out.databaseUrl === undefined) {
    throw usageError(
      'FXPIPE_READ_DATABASE_URL is set without DATABASE_URL: a standby replicates your own PostgreSQL, ' +
        'not the embedded server; set DATABASE_URL to the primary (or to every host)',
    );
  }
  out.home = path.resolve(cwd, out.home as string);
  return out as Config;
}

/** raw as the rule's schema reads it; a usage error (failure says what was expected) when it does not accept it. */
function checked<T>(rule: Rule<T>, raw: unknown, failure: (allowed: string) => string): T {
  const parsed = rule.schema(loadZod()).safeParse(raw);
  if (!parsed.success) throw usageError(failure(parsed.error.issues.map(describeIssue).join('; ')));
  return parsed.data;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_value') return `one of ${issue.values.map(String).join(', ')}`;
  // zod's own wording ("Invalid input: expected string, received number") is not for users.
  if (issue.code === 'invalid_type' && /^Invalid input/.test(issue.message))
    return `a ${issue.expected === 'array' ? 'list' : issue.expected} value`;
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
  const rule = settings.sources.rule;
  return rule.plain(value) ?? checked(rule, value, (allowed) => `invalid ${flag} ${JSON.stringify(value)}: expected ${allowed}`);
}
