import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../src/util/package-root.js';

const vendored = path.join(packageRoot, 'test', 'fixtures');
const shared = path.resolve(packageRoot, '../shared/fixtures');

describe('vendored fixtures', () => {
  it('holds the real provider samples the tests derive from', () => {
    expect(readdirSync(vendored).sort()).toEqual([
      'README.md',
      'ecb-eurofxref-daily-2025-05-09.xml',
      'eurofxref-hist-2024.csv',
      'open-er-api-latest-USD-2024-01-09.json',
    ]);
  });

  it.runIf(existsSync(shared))('are byte-identical to ../shared/fixtures where that exists (CI)', () => {
    for (const file of readdirSync(shared)) {
      expect(readFileSync(path.join(vendored, file)).equals(readFileSync(path.join(shared, file))), file).toBe(true);
    }
  });
});
