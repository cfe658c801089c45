import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { usageError } from './errors.js';
import { SOURCE_NAMES, type SourceName } from './sources/types.js';
import { ALERT_KINDS, type AlertKind } from './alerts/kinds.js';

const POSTGRES_URL = 'a URL of the form postgres://user:password@host:port/database';
const postgresUrl = z.string({ error: POSTGRES_URL }).refine((value) => {
  try {
    const url = new URL(value);
    return (url.protocol === 'postgres:' || url.protocol === 'postgresql:') && url.hostname !== '';
  } catch {
    return false;
  }
}, POSTGRES_URL);

const SOURCE_LIST = `a comma-separated list of ${SOURCE_NAMES.join(', ')}`;
export const sourceList = z
  .union([z.string(), z.array(z.string())], { error: SOURCE_LIST })
  .transform((value) => (Array.isArray(value) ? value : value.split(',')).map((name) => name.trim()).filter(Boolean))
  .refine((names) => names.length > 0, 'at least one source')
  .refine((names) => names.every((name) => (SOURCE_NAMES as readonly string[]).includes(name)), SOURCE_LIST)
  .refine((names) => new Set(names).size === names.length, 'each source at most once')
  .transform((names) => names as SourceName[]);

const number = (min: number, max: number, what: string) =>
  z.coerce.number({ error: `${what} between ${min} and ${max}` }).min(min, `${what} between ${min} and ${max}`).max(max, `${what} between ${min} and ${max}`);
const integer = (min: number, max: number, what: string) => number(min, max, what).int(`a whole ${what} between ${min} and ${max}`);

const logLevel = z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);

const commaList = z
  .union([z.string(), z.array(z.string())], { error: 'a comma-separated list' })
  .transform((value) => (Array.isArray(value) ? value : value.split(',')).map((item) => item.trim()).filter(Boolean));

const webhookUrl = z.url({ protocol: /^https?$/, error: 'an http(s) URL' });

const alertKinds = commaList
  .refine(
    (kinds) => kinds.length > 0 && ((kinds.length === 1 && kinds[0] === 'none') || kinds.every((kind) => (ALERT_KINDS as readonly string[]).includes(kind))),
    `"none" or a comma-separated list of ${ALERT_KINDS.join(', ')}`,
  )
  .transform((kinds) => (kinds[0] === 'none' ? [] : [...new Set(kinds)]) as AlertKind[]);

const pairList = commaList
  .refine((pairs) => pairs.length > 0, 'at least one pair')
  .refine((pairs) => pairs.every((pair) => /^([A-Z]{3})\/(?!\1)[A-Z]{3}$/.test(pair)), 'a comma-separated list of pairs BASE/QUOTE such as USD/EUR (upper-case ISO codes, base and quote differ)');

/**
 * Every setting: its key in fxpipe.config.json, its environment variable, its schema.
 * Environment variables override the file. Secret settings are never echoed in errors.
 */
export const settings = {
  databaseUrl: {
    env: 'DATABASE_URL',
    schema: postgresUrl.optional(),
    secret: true,
    describe: 'PostgreSQL to use instead of the embedded server',
  },
  home: {
    env: 'FXPIPE_HOME',
    schema: z.string().min(1, 'a directory path').default('.fxpipe'),
    secret: false,
    describe: 'directory for the embedded server, its password and archives',
  },
  logLevel: {
    env: 'FXPIPE_LOG_LEVEL',
    schema: logLevel.default('info'),
    secret: false,
    describe: 'log level',
  },
  driver: {
    env: 'FXPIPE_DRIVER',
    schema: z.enum(['direct', 'pooled']).default('direct'),
    secret: false,
    describe: 'database access path for batch commands',
  },
  sources: {
    env: 'FXPIPE_SOURCES',
    schema: sourceList.default(['open-er-api', 'frankfurter']),
    secret: false,
    describe: 'sources in order: the first is the primary, the next serve failover and verification',
  },
  exchangerateApiKey: {
    env: 'EXCHANGERATE_API_KEY',
    schema: z.string().min(8, 'an API key').optional(),
    secret: true,
    describe: 'API key of the keyed exchangerate-api source',
  },
  changeThresholdPct: {
    env: 'FXPIPE_CHANGE_THRESHOLD_PCT',
    schema: number(0, 100, 'a percentage').default(0),
    secret: false,
    describe: 'history stores a rate only when it moved more than this % from the last stored one (0: every value that differs; exact repeats are never stored twice)',
  },
  asOfSkewMinutes: {
    env: 'FXPIPE_AS_OF_SKEW_MINUTES',
    schema: number(0, 1440, 'a number of minutes').default(10),
    secret: false,
    describe: "a payload whose as-of is later than its arrival plus this many minutes (clock skew) is that source's failure",
  },
  deviationTolerancePct: {
    env: 'FXPIPE_DEVIATION_TOLERANCE_PCT',
    schema: number(0, 100, 'a percentage').default(0.5),
    secret: false,
    describe: 'flag a rate deviating more than this % from a reference source',
  },
  zScoreThreshold: {
    env: 'FXPIPE_ZSCORE_THRESHOLD',
    schema: number(1, 1000, 'a number').default(4),
    secret: false,
    describe: "flag a move beyond this many standard deviations of the pair's recent moves",
  },
  httpConnectTimeoutMs: {
    env: 'FXPIPE_HTTP_CONNECT_TIMEOUT_MS',
    schema: integer(100, 120_000, 'number of milliseconds').default(5000),
    secret: false,
    describe: 'connect timeout per request',
  },
  httpTimeoutMs: {
    env: 'FXPIPE_HTTP_TIMEOUT_MS',
    schema: integer(100, 600_000, 'number of milliseconds').default(20_000),
    secret: false,
    describe: 'total timeout per request attempt',
  },
  httpRetries: {
    env: 'FXPIPE_HTTP_RETRIES',
    schema: integer(0, 10, 'number').default(3),
    secret: false,
    describe: 'retries on network errors, 5xx and 429',
  },
  httpMaxBytes: {
    env: 'FXPIPE_HTTP_MAX_BYTES',
    schema: integer(1024, 1 << 30, 'number of bytes').default(5 * 1024 * 1024),
    secret: false,
    describe: 'largest response accepted',
  },
  cron: {
    env: 'FXPIPE_CRON',
    schema: z.string().min(1, 'a cron pattern').default('0 */4 * * *'),
    secret: false,
    describe: 'when `fxpipe schedule` runs the pipeline',
  },
  timezone: {
    env: 'FXPIPE_TIMEZONE',
    schema: z.string().min(1, 'an IANA time zone').default('UTC'),
    secret: false,
    describe: 'time zone of the cron pattern',
  },
  lockWaitMs: {
    env: 'FXPIPE_LOCK_WAIT_MS',
    schema: integer(0, 3_600_000, 'number of milliseconds').default(5000),
    secret: false,
    describe: 'how long a run waits for another run to finish before giving up',
  },
  webhookUrl: {
    env: 'FXPIPE_WEBHOOK_URL',
    schema: webhookUrl.optional(),
    // A Make.com webhook URL is a bearer secret: whoever has it can post into the scenario.
    secret: true,
    describe: 'where alerts are POSTed as JSON (e.g. a Make.com custom webhook); no alerts when unset',
  },
  alerts: {
    env: 'FXPIPE_ALERTS',
    schema: alertKinds.default([...ALERT_KINDS]),
    secret: false,
    describe: 'alert kinds to send, comma-separated, or "none"',
  },
  watchPairs: {
    env: 'FXPIPE_WATCH_PAIRS',
    schema: pairList.default(['USD/EUR', 'USD/GBP', 'USD/JPY']),
    secret: false,
    describe: 'pairs whose moves raise pair_moved alerts',
  },
  alertMovePct: {
    env: 'FXPIPE_ALERT_MOVE_PCT',
    schema: number(0, 100, 'a percentage').default(2),
    secret: false,
    describe: 'a watched pair moving more than this % against its previous stored rate raises pair_moved',
  },
  webhookTimeoutMs: {
    env: 'FXPIPE_WEBHOOK_TIMEOUT_MS',
    schema: integer(100, 10_000, 'number of milliseconds').default(3000),
    secret: false,
    describe: 'timeout of each webhook attempt (3 attempts at most, 10 s in all)',
  },
  apiToken: {
    env: 'FXPIPE_API_TOKEN',
    schema: z.string().min(16, 'at least 16 characters').max(1024, 'at most 1024 characters').optional(),
    secret: true,
    describe: 'bearer token fxpipe serve requires for its API, metrics and dashboard (none: open)',
  },
  adviseKafkaWritesPerSecond: {
    env: 'FXPIPE_ADVISE_KAFKA_WRITES_PER_S',
    schema: number(0.001, 1e9, 'a number of rate observations per second').default(1000),
    secret: false,
    describe: 'advise: sustained observations/s at which a stream (Kafka) is recommended',
  },
  adviseTimescaleRows: {
    env: 'FXPIPE_ADVISE_TIMESCALE_ROWS',
    schema: integer(1, 1e15, 'number of rows').default(10_000_000),
    secret: false,
    describe: 'advise: history rows (hot + archived) at which TimescaleDB is recommended',
  },
  adviseRefreshSeconds: {
    env: 'FXPIPE_ADVISE_REFRESH_SECONDS',
    schema: number(0.001, 86_400, 'a number of seconds').default(60),
    secret: false,
    describe: 'advise: view refresh time per run at which TimescaleDB (continuous aggregates) is recommended',
  },
  adviseClickhouseRows: {
    env: 'FXPIPE_ADVISE_CLICKHOUSE_ROWS',
    schema: integer(1, 1e15, 'number of rows').default(1_000_000_000),
    secret: false,
    describe: 'advise: history rows at which ClickHouse is worth considering',
  },
  adviseHotDays: {
    env: 'FXPIPE_ADVISE_HOT_DAYS',
    schema: integer(1, 36_500, 'number of days').default(90),
    secret: false,
    describe: 'advise: age of the oldest hot history month beyond which archiving to Parquet is recommended',
  },
  advisePoolConnections: {
    env: 'FXPIPE_ADVISE_POOL_CONNECTIONS',
    schema: integer(1, 100_000, 'number of connections').default(10),
    secret: false,
    describe: 'advise: concurrent client connections at which a connection pool is recommended',
  },
  adviseHorizonMonths: {
    env: 'FXPIPE_ADVISE_HORIZON_MONTHS',
    schema: integer(1, 1200, 'number of months').default(12),
    secret: false,
    describe: 'advise: a threshold projected to be crossed within this many months makes the verdict "consider"',
  },
} as const;

type Settings = typeof settings;
export type Config = { [K in keyof Settings]: z.output<Settings[K]['schema']> };
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
    const parsed = setting.schema.safeParse(raw);
    if (!parsed.success) {
      const allowed = parsed.error.issues.map(describeIssue).join('; ');
      const shown = setting.secret || raw === undefined ? '' : ` ${JSON.stringify(raw)}`;
      throw usageError(`invalid setting ${where}:${shown} expected ${allowed}`);
    }
    out[key] = parsed.data;
  }
  out.home = path.resolve(cwd, out.home as string);
  return out as Config;
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
  const parsed = sourceList.safeParse(value);
  if (!parsed.success) throw usageError(`invalid ${flag} ${JSON.stringify(value)}: expected ${parsed.error.issues.map(describeIssue).join('; ')}`);
  return parsed.data;
}
