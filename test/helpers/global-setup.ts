import { chmodSync, mkdtempSync } from 'node:fs';
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

interface SuiteServer {
  adminUrl: string;
  serverLabel: string;
  templateDatabase: string;
  stop(): Promise<void>;
}

/** The db and e2e projects each run this setup; the first starts the server, the last teardown stops it. */
const shared = globalThis as { fxpipeSuiteServer?: { server: Promise<SuiteServer>; users: number } };

/**
 * One PostgreSQL for the whole suite: DATABASE_URL when CI points the suite at another server
 * (Debian's PostgreSQL 15), otherwise a fresh embedded server in a throwaway directory. On it, one
 * migrated warehouse that each test file's databases are cloned from (CREATE DATABASE … TEMPLATE).
 * Every scratch directory of the run (tests' and CLI processes') goes under one TMPDIR (vitest.config.ts removes it).
 */
export default async function setup(project: TestProject) {
  shared.fxpipeSuiteServer ??= { server: startSuiteServer(), users: 0 };
  const suite = shared.fxpipeSuiteServer;
  suite.users += 1;
  const server = await suite.server;
  project.provide('adminUrl', server.adminUrl);
  project.provide('serverLabel', server.serverLabel);
  project.provide('templateDatabase', server.templateDatabase);
  return async () => {
    suite.users -= 1;
    if (suite.users > 0) return;
    delete shared.fxpipeSuiteServer;
    await server.stop();
  };
}

async function startSuiteServer(): Promise<SuiteServer> {
  // Made by vitest.config.ts, which hands it to the workers as their TMPDIR.
  const scratch = process.env.FXPIPE_SUITE_TMP ?? tmpdir();
  const outerTmp = process.env.TMPDIR;
  process.env.TMPDIR = scratch;

  let home: string | null = null;
  let adminUrl = process.env.DATABASE_URL;
  let serverLabel = 'DATABASE_URL';
  if (!adminUrl) {
    home = mkdtempSync(path.join(scratch, 'fxpipe-test-'));
    chmodSync(home, 0o711);
    adminUrl = (await ensureEmbedded(home)).url;
    // A throwaway server: commits need not reach the disk (nothing here outlives the run, and no test crashes the OS).
    await withAdmin(adminUrl, async (client) => {
      for (const setting of ['fsync', 'synchronous_commit', 'full_page_writes']) await client.query(`alter system set ${setting} = off`);
      await client.query('select pg_reload_conf()');
    });
    serverLabel = `embedded ${new URL(adminUrl).port}`;
  }
  const url = adminUrl;
  const template = `fxtemplate_${process.pid}`;
  // A server that cannot be reached fails the tests that need a database, each naming why; the rest still run.
  const made = await migratedTemplate(url, template).then(
    () => null,
    (error: unknown) => oneLine(error),
  );

  return {
    adminUrl: url,
    serverLabel,
    templateDatabase: made === null ? template : `unavailable: ${made}`,
    async stop() {
      // The template and the loaded warehouses kept beside it for the run (test/helpers/loaded-once.ts).
      await withAdmin(url, async (client) => {
        const kept = await client.query<{ name: string }>(`select datname as name from pg_database where datname like $1`, [
          `${template}\\_%`,
        ]);
        for (const { name } of kept.rows) await client.query(`drop database if exists ${name} with (force)`);
        await client.query(`drop database if exists ${template} with (force)`);
      }).catch(() => undefined);
      if (home) await stopEmbedded(home);
      if (outerTmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = outerTmp;
    },
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
