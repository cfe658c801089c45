import { randomBytes } from 'node:crypto';
import { mkdtempSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import type { Db, Driver, SessionDb } from '../../src/warehouse/db.js';
import type { DirectDb } from '../../src/warehouse/direct.js';
import { openDb, openDirect } from '../../src/warehouse/connection.js';
import { createClosedDatabase } from '../../src/warehouse/databases.js';

export interface TestDatabase {
  name: string;
  url: string;
  /** The direct path, typed as such (bulk loads take it). */
  open(): Promise<DirectDb>;
  /** The access path a test chooses. */
  openAs(driver: Driver): Promise<SessionDb>;
  /** Closes what open() and openAs() opened; the database stays. */
  close(): Promise<void>;
  drop(): Promise<void>;
}

export interface CreateOptions {
  /** An empty database, for tests of the migrations themselves; otherwise a clone of the suite's migrated warehouse. */
  empty?: boolean;
  /** A clone of this database instead (a loaded warehouse kept for the run, test/helpers/loaded-once.ts). */
  template?: string;
}

/**
 * A fresh database on the suite's server: a clone of the warehouse the global setup migrated once (as `db init`
 * leaves it), or empty. drop() removes it.
 */
export async function createTestDatabase(prefix = 'fxtest', options: CreateOptions = {}): Promise<TestDatabase> {
  const adminUrl = inject('adminUrl');
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const made = inject('templateDatabase');
  if (!options.empty && made.startsWith('unavailable: '))
    throw new Error(`the suite's template database could not be made: ${made.slice(13)}`);
  // Closed to PUBLIC, as fxpipe makes its databases: a reader granted in another test file's database must not reach it.
  await withAdmin(adminUrl, (client) => createClosedDatabase(client, name, options.empty ? undefined : (options.template ?? made)));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const opened: Db[] = [];
  const close = async () => {
    await Promise.all(opened.splice(0).map((db) => db.close().catch(() => undefined)));
  };
  const target = { url: url.toString(), label: name, embedded: false };
  return {
    name,
    url: url.toString(),
    async open() {
      const db = await openDirect(target);
      opened.push(db);
      return db;
    },
    async openAs(driver: Driver) {
      const db = await openDb(target, { driver });
      opened.push(db);
      return db;
    },
    close,
    async drop() {
      await close();
      await withAdmin(adminUrl, (client) => client.query(`drop database if exists ${name} with (force)`));
    },
  };
}

/** One connection as the suite's admin for fn. */
export async function withAdmin<T>(adminUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A scratch directory the postgres user can traverse (the embedded server runs as it under root). */
export function scratchDir(prefix = 'fxpipe-'): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  chmodSync(dir, 0o711);
  return dir;
}
