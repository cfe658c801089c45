import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['test/helpers/global-setup.ts'],
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: process.env.FXPIPE_TEST_JSON ? ['default', ['json', { outputFile: process.env.FXPIPE_TEST_JSON }]] : ['default'],
  },
});
