import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { usageError } from './errors.js';

const postgresUrl = z.string().refine((value) => {
  try {
    const url = new URL(value);
    return (url.protocol === 'postgres:' || url.protocol === 'postgresql:') && url.hostname !== '';
  } catch {
    return false;
  }
}, 'a URL of the form postgres://user:password@host:port/database');

const logLevel = z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);

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
