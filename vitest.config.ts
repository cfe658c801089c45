import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defineConfig } from 'vitest/config';

// Every scratch directory of one run (the tests', their CLI processes', the suite's embedded server) goes under one
// directory, which the global setup's teardown removes. The embedded server runs as the postgres user under root:
// it must traverse it.
const scratch = mkdtempSync(path.join(tmpdir(), 'fxpipe-suite-'));
chmodSync(scratch, 0o711);
process.env.FXPIPE_SUITE_TMP = scratch;

export default defineConfig({
  test: {
    globalSetup: ['test/helpers/global-setup.ts'],
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    env: { TMPDIR: scratch },
    reporters: process.env.FXPIPE_TEST_JSON ? ['default', ['json', { outputFile: process.env.FXPIPE_TEST_JSON }]] : ['default'],
  },
});
