import { SourceError } from '../sources/errors.js';

/** The ECB's first reference rates (1999-01-04): nothing fxpipe loads can be older. */
export const EARLIEST_AS_OF = new Date('1999-01-04T00:00:00Z');
export const DEFAULT_AS_OF_SKEW_MS = 10 * 60_000;

/**
 * A payload's as-of time must be one that can be true: not before 1999-01-04 and not later than the
 * moment it was received plus a small clock skew. Anything else is a format failure of the source (the
 * next source serves): loaded, a future as-of would stand as "current" and block every later load.
 */
export function checkAsOf(source: string, asOf: Date, receivedAt: Date, skewMs = DEFAULT_AS_OF_SKEW_MS): void {
  if (Number.isNaN(asOf.getTime())) throw new SourceError(source, 'the payload has no valid as-of time', 'format');
  if (asOf.getTime() < EARLIEST_AS_OF.getTime()) {
    throw new SourceError(
      source,
      `as-of ${asOf.toISOString()} is before ${EARLIEST_AS_OF.toISOString().slice(0, 10)}, the earliest rates fxpipe keeps`,
      'format',
    );
  }
  const latest = receivedAt.getTime() + skewMs;
  if (asOf.getTime() > latest) {
    throw new SourceError(
      source,
      `as-of ${asOf.toISOString()} is later than the time it was received (${receivedAt.toISOString()}) plus ${Math.round(skewMs / 60_000)} min`,
      'format',
    );
  }
}
