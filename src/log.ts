import { createRequire } from 'node:module';
import type Pino from 'pino';
import type { DestinationStream, Logger } from 'pino';
import type PinoPretty from 'pino-pretty';

// pino and pino-pretty load when the first logger is made, not with every command that never logs (`fxpipe query`).
const require = createRequire(import.meta.url);

export type { Logger };

/** Keys whose values are secrets wherever they appear in a log line. */
export const REDACTED_KEYS = ['password', 'apiKey', 'api_key', 'authorization', 'token', 'databaseUrl', 'url', 'webhookUrl'];

/** Logs go to stderr so stdout stays the command's answer (tables, --json). */
export function createLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  const pino = require('pino') as typeof Pino;
  return pino(
    {
      level,
      base: { ...bindings },
      redact: { paths: [...REDACTED_KEYS, ...REDACTED_KEYS.map((key) => `*.${key}`)], censor: '***' },
    },
    stderrDestination(pino),
  );
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
