import pino, { type Logger } from 'pino';

export type { Logger };

/** Keys whose values are secrets wherever they appear in a log line. */
export const REDACTED_KEYS = ['password', 'apiKey', 'api_key', 'authorization', 'token', 'databaseUrl', 'url'];

/** Logs go to stderr so stdout stays the command's answer (tables, --json). */
export function createLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  return pino(
    {
      level,
      base: { ...bindings },
      redact: { paths: [...REDACTED_KEYS, ...REDACTED_KEYS.map((key) => `*.${key}`)], censor: '***' },
    },
    pino.destination({ fd: 2, sync: true }),
  );
}
