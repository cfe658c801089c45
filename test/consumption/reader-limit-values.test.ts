import { describe, expect, it } from 'vitest';
import { DEFAULT_READER_LIMITS, formatSize, limitsInComment, parseSize, readerComment } from '../../src/postgres/readers/reader-limits.js';
import { READER_MARKER } from '../../src/postgres/readers/reader-roles.js';

describe('reader limit values', () => {
  it('sizes take PostgreSQL units (kB, MB, GB, TB, case-sensitive), from the minimum to 2 TB, in kB', () => {
    expect(parseSize('1GB', '--x', 1024)).toBe(1_048_576);
    expect(parseSize(' 200MB ', '--x', 1024)).toBe(204_800);
    expect(parseSize('2048kB', '--x', 1024)).toBe(2048);
    expect(parseSize('1TB', '--x', 1024)).toBe(1_073_741_824);
    for (const bad of ['1G', '1gb', '1 GB', '1023kB', '3TB', '-1MB', '1.5GB', '']) {
      expect(() => parseSize(bad, '--x', 1024), bad).toThrow(`invalid --x ${JSON.stringify(bad)}: expected a size from 1 MB to 2 TB`);
    }
  });

  it('sizes read back in the largest whole unit', () => {
    expect([1_048_576, 204_800, 1536, 512, 3_145_728].map(formatSize)).toEqual(['1 GB', '200 MB', '2 MB', '512 kB', '3 GB']);
  });

  it('a comment from before the temp-file and memory limits keeps its own limits and gets the defaults for the new ones', () => {
    const old = `${READER_MARKER} ${JSON.stringify({ statementTimeoutMs: 5000, idleInTransactionTimeoutMs: 7000, connectionLimit: 3 })}`;
    expect(limitsInComment(old)).toEqual({
      ...DEFAULT_READER_LIMITS,
      statementTimeoutMs: 5000,
      idleInTransactionTimeoutMs: 7000,
      connectionLimit: 3,
    });
    const now = { ...DEFAULT_READER_LIMITS, tempFileLimitKb: 2048, memoryLimitKb: 65_536 };
    expect(limitsInComment(readerComment(now))).toEqual(now);
    expect(limitsInComment(`${READER_MARKER} {"statementTimeoutMs": 5000}`)).toBeNull();
    expect(limitsInComment(READER_MARKER)).toBeNull();
  });
});
