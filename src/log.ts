import { createRequire } from 'node:module';
import type Pino from 'pino';
import type { DestinationStream, Logger } from 'pino';
import type PinoPretty from 'pino-pretty';
import { withoutUserInfo } from './util/secrets.js';

// pino and pino-pretty load when the first logger is made, not with every command that never logs (`fxpipe query`).
const require = createRequire(import.meta.url);

export type { Logger };

/** Keys whose values are secrets wherever they appear in a log line. */
export const REDACTED_KEYS = [
  'password',
  'apiKey',
  'api_key',
  'authorization',
  'token',
  'databaseUrl',
  'readDatabaseUrl',
  'url',
  'webhookUrl',
];

/** Logs go to stderr so stdout stays the command's answer (tables, --json); a test may hand its own destination. */
export function createLogger(level: string, bindings: Record<string, unknown> = {}, destination?: DestinationStream): Logger {
  const pino = require('pino') as typeof Pino;
  return pino(
    {
      level,
      base: { ...bindings },
      redact: { paths: [...REDACTED_KEYS, ...REDACTED_KEYS.map((key) => `*.${key}`)], censor: '***' },
      // Whatever a line quotes (a message, an error, a field), no URL in it keeps its user-info.
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((arg) => withoutUserInfoIn(arg)) as Parameters<typeof method>);
        },
      },
    },
    destination ?? stderrDestination(pino),
  );
}

/** value with every string in it without URL user-info: objects, arrays and Errors copied (an Error stays one), not changed. */
function withoutUserInfoIn(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return withoutUserInfo(value);
  if (value === null || typeof value !== 'object' || depth > 6) return value;
  if (Array.isArray(value)) return value.map((item) => withoutUserInfoIn(item, depth + 1));
  if (value instanceof Error) {
    const copy = Object.create(Object.getPrototypeOf(value) as object) as Error;
    for (const key of Object.getOwnPropertyNames(value)) {
      const property = Object.getOwnPropertyDescriptor(value, key)!;
      const cleaned = 'value' in property ? withoutUserInfoIn(property.value, depth + 1) : undefined;
      Object.defineProperty(copy, key, 'value' in property ? { ...property, value: cleaned } : property);
    }
    return copy;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, withoutUserInfoIn(item, depth + 1)]));
}

/**
 * A terminal gets readable, coloured lines; anything else (a pipe, a file, a log collector) gets JSON
 * lines. Both are synchronous, so no line is lost when a command exits.
 */
function stderrDestination(pino: typeof Pino): DestinationStream {
  if (!process.stderr.isTTY) return pino.destination({ fd: 2, sync: true });
  const pretty = require('pino-pretty') as typeof PinoPretty;
  return pretty({ destination: 2, sync: true, colorize: true, singleLine: true, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss.l' });
}
