import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defineConfig } from 'vitest/config';
import LongFirst from './test/helpers/sequencer.js';

// Every scratch directory of one run (the tests', their CLI processes', the suite's embedded server) goes under one
// directory, removed when vitest exits (after the global setup's teardown has stopped the server). The embedded server
// runs as the postgres user under root: it must traverse it.
const scratch = mkdtempSync(path.join(tmpdir(), 'fxpipe-suite-'));
chmodSync(scratch, 0o711);
process.env.FXPIPE_SUITE_TMP = scratch;
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));

/** One PostgreSQL for the run (test/helpers/global-setup.ts), started only when a db or e2e file runs. */
const SUITE_SERVER = ['test/helpers/global-setup.ts'];

// The tiers (docs/testing.md): a file's tier is the word before `.test.ts`.
export default defineConfig({
  test: {
    pool: 'forks',
    sequence: { sequencer: LongFirst },
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    env: { TMPDIR: scratch },
    reporters: process.env.FXPIPE_TEST_JSON ? ['default', ['json', { outputFile: process.env.FXPIPE_TEST_JSON }]] : ['default'],
    projects: [
      // No PostgreSQL and no fxpipe process: pure functions, parsers, property tests, servers in the test's own process.
      // Not isolated: a worker's files share loaded modules (half the tier's time went to importing them again), so a
      // unit test leaves no global state behind (timers, env, spies).
      {
        extends: true,
        test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: ['test/**/*.db.test.ts', 'test/**/*.e2e.test.ts'], isolate: false },
      },
      // In-process code against the suite's PostgreSQL (createTestDatabase, the HTTP app in process).
      { extends: true, test: { name: 'db', include: ['test/**/*.db.test.ts'], globalSetup: SUITE_SERVER } },
      // fxpipe processes (the CLI, serve, schedule), servers of their own, the browser, npm, the fresh clone.
      { extends: true, test: { name: 'e2e', include: ['test/**/*.e2e.test.ts'], globalSetup: SUITE_SERVER } },
    ],
  },
});
