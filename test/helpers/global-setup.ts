import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { oneLine } from '../../src/errors.js';
import { openDirect } from '../../src/warehouse/connection.js';
import { createClosedDatabase } from '../../src/warehouse/databases.js';
import { ensureEmbedded, stopEmbedded } from '../../src/postgres/server/embedded.js';
import { initWarehouse } from '../../src/warehouse/init.js';
import { withAdmin } from './database.js';

declare module 'vitest' {
  export interface ProvidedContext {
    adminUrl: string;
    serverLabel: string;
    /** A database migrated once for the whole suite, which test databases are cloned from. */
    templateDatabase: string;
  }
}

/**
 * One PostgreSQL for the whole suite: DATABASE_URL when CI points the suite at another server
 * (Debian's PostgreSQL 15), otherwise a fresh embedded server in a throwaway directory. On it, one
 * migrated warehouse that each test file's databases are cloned from (CREATE DATABASE … TEMPLATE).
 * Every scratch directory of the run (tests' and CLI processes') goes under one TMPDIR, removed at the end.
 */
export default async function setup(project: TestProject) {
  // Made by vitest.config.ts, which hands it to the workers as their TMPDIR.
  const scratch = process.env.FXPIPE_SUITE_TMP ?? tmpdir();
  const outerTmp = process.env.TMPDIR;
  process.env.TMPDIR = scratch;

  let home: string | null = null;
  let adminUrl = process.env.DATABASE_URL;
  if (adminUrl) {
    project.provide('serverLabel', 'DATABASE_URL');
  } else {
    home = mkdtempSync(path.join(scratch, 'fxpipe-test-'));
    chmodSync(home, 0o711);
    adminUrl = (await ensureEmbedded(home)).url;
    // A throwaway server: commits need not reach the disk (nothing here outlives the run, and no test crashes the OS).
    await withAdmin(adminUrl, async (client) => {
      for (const setting of ['fsync', 'synchronous_commit', 'full_page_writes']) await client.query(`alter system set ${setting} = off`);
      await client.query('select pg_reload_conf()');
    });
    project.provide('serverLabel', `embedded ${new URL(adminUrl).port}`);
  }
  project.provide('adminUrl', adminUrl);
  const template = `fxtemplate_${process.pid}`;
  // A server that cannot be reached fails the tests that need a database, each naming why; the rest still run.
  const made = await migratedTemplate(adminUrl, template).then(() => null, (error: unknown) => oneLine(error));
  project.provide('templateDatabase', made === null ? template : `unavailable: ${made}`);

  return async () => {
    await withAdmin(adminUrl, (client) => client.query(`drop database if exists ${template} with (force)`)).catch(() => undefined);
    if (home) await stopEmbedded(home);
    if (outerTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = outerTmp;
    if (process.env.FXPIPE_SUITE_TMP) rmSync(process.env.FXPIPE_SUITE_TMP, { recursive: true, force: true });
  };
}

/** The warehouse every test database is cloned from, made as `fxpipe db init` makes one. */
async function migratedTemplate(adminUrl: string, template: string): Promise<void> {
  await withAdmin(adminUrl, async (client) => {
    await client.query(`drop database if exists ${template}`);
    await createClosedDatabase(client, template);
  });
  const url = new URL(adminUrl);
  url.pathname = `/${template}`;
  const db = await openDirect({ url: url.toString(), label: template, embedded: false });
  try {
    await initWarehouse(db);
  } finally {
    await db.close();
  }
}
