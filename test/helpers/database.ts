import { randomBytes } from 'node:crypto';
import { mkdtempSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import type { Db, Driver } from '../../src/warehouse/db.js';
import { openDb } from '../../src/warehouse/connection.js';

export interface TestDatabase {
  name: string;
  url: string;
  open(driver?: Driver): Promise<Db>;
  drop(): Promise<void>;
}

/** A fresh, empty database on the suite's server; drop() removes it. */
export async function createTestDatabase(prefix = 'fxtest'): Promise<TestDatabase> {
  const adminUrl = inject('adminUrl');
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await withAdmin(adminUrl, (client) => client.query(`create database ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const opened: Db[] = [];
  return {
    name,
    url: url.toString(),
    async open(driver: Driver = 'direct') {
      const db = await openDb({ url: url.toString(), label: name, embedded: false }, { driver });
      opened.push(db);
      return db;
    },
    async drop() {
      await Promise.all(opened.map((db) => db.close().catch(() => undefined)));
      await withAdmin(adminUrl, (client) => client.query(`drop database if exists ${name} with (force)`));
    },
  };
}

async function withAdmin<T>(adminUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
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
