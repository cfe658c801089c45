import { describe, expect, it } from 'vitest';
import { DEFAULT_AS_OF_SKEW_MS, EARLIEST_AS_OF, checkAsOf } from '../../src/transform/as-of.js';
import { SourceError } from '../../src/sources/errors.js';

/** The error checkAsOf throws, or null when it accepts. */
function refusal(asOf: Date, receivedAt: Date, skewMs?: number): SourceError | null {
  try {
    if (skewMs === undefined) checkAsOf('ecb', asOf, receivedAt);
    else checkAsOf('ecb', asOf, receivedAt, skewMs);
    return null;
  } catch (error) {
    if (!(error instanceof SourceError)) throw error;
    return error;
  }
}

const at = (iso: string) => new Date(iso);
const plusMs = (date: Date, ms: number) => new Date(date.getTime() + ms);

// A real receipt: the ECB's file of 2025-05-09 fetched that afternoon.
const received = at('2025-05-09T14:30:00Z');

describe('the as-of bounds', () => {
  it("are the ECB's first reference day (1999-01-04, midnight UTC) and ten minutes of clock skew", () => {
    expect(EARLIEST_AS_OF.toISOString()).toBe('1999-01-04T00:00:00.000Z');
    expect(DEFAULT_AS_OF_SKEW_MS).toBe(600_000);
  });
});

describe('checkAsOf', () => {
  it('accepts an ordinary as-of, earlier than its receipt', () => {
    expect(refusal(at('2025-05-09T14:15:00Z'), received)).toBeNull();
    expect(refusal(at('2025-05-08T14:15:00Z'), received)).toBeNull();
    // open.er-api's time_last_update_unix of 2024-01-09 (1704758551), received two minutes later.
    expect(refusal(new Date(1704758551 * 1000), new Date((1704758551 + 120) * 1000))).toBeNull();
  });

  it('accepts 1999-01-04T00:00:00Z exactly and refuses one millisecond before, as a format failure of the source', () => {
    expect(refusal(at('1999-01-04T00:00:00.000Z'), received)).toBeNull();
    const early = refusal(at('1999-01-03T23:59:59.999Z'), received);
    expect(early).toBeInstanceOf(SourceError);
    expect(early!.kind).toBe('format');
    expect(early!.source).toBe('ecb');
    expect(early!.message).toContain('1999-01-03T23:59:59.999Z');
    expect(early!.message).toContain('before 1999-01-04');
    // Another day's date, a year's, the epoch: all refused.
    expect(refusal(at('1999-01-01T00:00:00Z'), received)?.kind).toBe('format');
    expect(refusal(new Date(0), received)?.kind).toBe('format');
  });

  it('accepts an as-of up to ten minutes after receipt, to the millisecond, and refuses one millisecond more', () => {
    expect(refusal(received, received)).toBeNull();
    expect(refusal(at('2025-05-09T14:40:00.000Z'), received)).toBeNull();
    const late = refusal(at('2025-05-09T14:40:00.001Z'), received);
    expect(late).toBeInstanceOf(SourceError);
    expect(late!.kind).toBe('format');
    expect(late!.message).toContain('2025-05-09T14:40:00.001Z');
    expect(late!.message).toContain('2025-05-09T14:30:00.000Z');
    expect(late!.message).toContain('plus 10 min');
    // Tomorrow's rates received today.
    expect(refusal(at('2025-05-10T00:00:00Z'), received)?.kind).toBe('format');
  });

  it('uses the skew it is given instead of the default', () => {
    // No skew: the receipt time itself is the limit.
    expect(refusal(received, received, 0)).toBeNull();
    expect(refusal(plusMs(received, 1), received, 0)?.kind).toBe('format');
    // An hour: 59 minutes ahead passes (the default would refuse it), 60 min + 1 ms does not.
    expect(refusal(plusMs(received, 59 * 60_000), received)).not.toBeNull();
    expect(refusal(plusMs(received, 59 * 60_000), received, 3_600_000)).toBeNull();
    expect(refusal(plusMs(received, 3_600_000), received, 3_600_000)).toBeNull();
    const late = refusal(plusMs(received, 3_600_001), received, 3_600_000);
    expect(late?.kind).toBe('format');
    expect(late!.message).toContain('plus 60 min');
  });

  it('refuses an invalid date (a payload without a usable as-of)', () => {
    const invalid = refusal(new Date('not a date'), received);
    expect(invalid).toBeInstanceOf(SourceError);
    expect(invalid!.kind).toBe('format');
    expect(invalid!.message).toContain('no valid as-of time');
    expect(refusal(new Date(Number.NaN), received, 0)?.message).toContain('no valid as-of time');
  });

  it('checks the earliest bound whatever the receipt time: an old receipt of older rates is still refused', () => {
    expect(refusal(at('1998-12-31T00:00:00Z'), at('1998-12-31T00:05:00Z'))?.message).toContain('before 1999-01-04');
    expect(refusal(EARLIEST_AS_OF, EARLIEST_AS_OF)).toBeNull();
  });
});
