import { withoutUserInfo } from './util/secrets.js';

/** Exit codes fxpipe uses; schedulers (cron, systemd, Kubernetes, Airflow) act on them. */
export const ExitCode = {
  ok: 0,
  /** The job ran and failed (no source delivered, a load error). */
  failed: 1,
  /** Bad input or environment: a flag, a config value, an unreachable or unusable database. */
  usage: 2,
  /** Another run holds the lock. */
  busy: 3,
  /** `fxpipe verify`: a production rate deviates from the consensus, or fxpipe has none for it. */
  deviations: 4,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error whose message is fit to show the user as one line. */
export class FxpipeError extends Error {
  readonly exitCode: ExitCode;
  constructor(message: string, options: { exitCode?: ExitCode; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'FxpipeError';
    this.exitCode = options.exitCode ?? ExitCode.failed;
  }
}

export const usageError = (message: string, cause?: unknown) => new FxpipeError(message, { exitCode: ExitCode.usage, cause });

/**
 * The message of anything thrown, on one line, without any URL's user-info (src/util/secrets.ts): a library's error may
 * quote the URL it was given (fetch's "Request cannot be constructed from a URL that includes credentials: …").
 */
export function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message || error.name : String(error);
  return withoutUserInfo(text.replace(/\s*\n\s*/g, ' ').trim());
}
