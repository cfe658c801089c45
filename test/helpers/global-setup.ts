import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { ensureEmbedded, stopEmbedded } from '../../src/warehouse/server/embedded.js';

declare module 'vitest' {
  export interface ProvidedContext {
    adminUrl: string;
    serverLabel: string;
  }
}

/**
 * One PostgreSQL for the whole suite: DATABASE_URL when CI points the suite at another server
 * (Debian's PostgreSQL 15), otherwise a fresh embedded server in a throwaway directory.
 * Each test file then creates its own database on it.
 */
export default async function setup(project: TestProject) {
  if (process.env.DATABASE_URL) {
    project.provide('adminUrl', process.env.DATABASE_URL);
    project.provide('serverLabel', 'DATABASE_URL');
    return;
  }
  const home = mkdtempSync(path.join(tmpdir(), 'fxpipe-test-'));
  chmodSync(home, 0o711);
  const server = await ensureEmbedded(home);
  project.provide('adminUrl', server.url);
  project.provide('serverLabel', `embedded ${server.port}`);
  return async () => {
    await stopEmbedded(home);
    rmSync(home, { recursive: true, force: true });
  };
}
