import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Migrator, sql, type Migration, type MigrationResultSet } from 'kysely';
import { packageRoot } from '../util/package-root.js';
import type { Db } from './db.js';
import { DirectDb } from './direct.js';
import { PooledDb } from './pooled.js';

/**
 * The .sql files in src/warehouse/migrations are the one source of truth for the schema. Both access
 * paths apply them and record them in the same bookkeeping tables, with the same advisory lock, so
 * `db init --driver direct` and `--driver pooled` can be mixed on one database.
 */
export const MIGRATION_TABLE = 'fxpipe_migration';
export const MIGRATION_LOCK_TABLE = 'fxpipe_migration_lock';
export const MIGRATIONS_DIR = path.join(packageRoot, 'src', 'warehouse', 'migrations');
/** Kysely's PostgreSQL migration lock key: the direct path takes the same lock. */
const MIGRATION_LOCK_KEY = '3853314791062309107';

export interface MigrationFile {
  name: string;
  sql: string;
}

export function migrationFiles(dir = MIGRATIONS_DIR): MigrationFile[] {
  return readdirSync(dir)
    .filter((file) => /^\d{4}_[a-z0-9_]+\.sql$/.test(file))
    .sort()
    .map((file) => ({ name: file.replace(/\.sql$/, ''), sql: readFileSync(path.join(dir, file), 'utf8') }));
}

export interface MigrateResult {
  applied: string[];
  alreadyApplied: string[];
}

export async function migrate(db: Db, files = migrationFiles()): Promise<MigrateResult> {
  // Nothing pending (every run): no migration lock is taken at all.
  const applied = await appliedMigrations(db);
  if (applied && files.every((file) => applied.has(file.name))) return { applied: [], alreadyApplied: files.map((file) => file.name) };
  if (db instanceof PooledDb) return migratePooled(db, files);
  if (db instanceof DirectDb) return migrateDirect(db, files);
  throw new Error(`no migration runner for driver ${db.driver}`);
}

/** The names recorded as applied; null before the bookkeeping table exists. */
async function appliedMigrations(db: Db): Promise<Set<string> | null> {
  const [table] = await db.query<{ present: boolean }>('select to_regclass($1) is not null as present', [MIGRATION_TABLE]);
  if (!table?.present) return null;
  return new Set((await db.query<{ name: string }>(`select name from ${MIGRATION_TABLE}`)).map((row) => row.name));
}

/** Same DDL as Kysely's Migrator creates for its bookkeeping tables. */
const bookkeepingDdl = [
  `create table if not exists ${MIGRATION_TABLE} (name varchar(255) not null primary key, timestamp varchar(255) not null)`,
  `create table if not exists ${MIGRATION_LOCK_TABLE} (id varchar(255) not null primary key, is_locked integer default 0 not null)`,
  `insert into ${MIGRATION_LOCK_TABLE} (id, is_locked) values ('migration_lock', 0) on conflict do nothing`,
];

/** Direct path: each migration in its own transaction, under the migration advisory lock. */
async function migrateDirect(db: DirectDb, files: MigrationFile[]): Promise<MigrateResult> {
  const applied: string[] = [];
  const alreadyApplied: string[] = [];
  for (const statement of bookkeepingDdl) await tolerateConcurrentCreate(() => db.query(statement));
  for (const file of files) {
    await db.transaction(async (tx) => {
      await tx.query('select pg_advisory_xact_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
      const done = await tx.query(`select 1 from ${MIGRATION_TABLE} where name = $1`, [file.name]);
      if (done.length > 0) {
        alreadyApplied.push(file.name);
        return;
      }
      await db.client.query(file.sql); // simple protocol: a file holds many statements
      await tx.query(`insert into ${MIGRATION_TABLE} (name, timestamp) values ($1, $2)`, [file.name, new Date().toISOString()]);
      applied.push(file.name);
    });
  }
  return { applied, alreadyApplied };
}

/**
 * `create table if not exists` racing another session's create can still fail on the catalog's unique
 * index (Kysely's Migrator creates these tables outside its lock, too); the table then exists.
 */
async function tolerateConcurrentCreate(statement: () => Promise<unknown>): Promise<void> {
  try {
    await statement();
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code !== '23505' && code !== '42P07') throw error;
    await statement();
  }
}

/** Pooled path: Kysely's Migrator, fed the same files. */
async function migratePooled(db: PooledDb, files: MigrationFile[]): Promise<MigrateResult> {
  const migrations: Record<string, Migration> = {};
  for (const file of files) {
    migrations[file.name] = { up: async (k) => void (await sql.raw(file.sql).execute(k)) };
  }
  const migrator = new Migrator({
    db: db.kysely,
    provider: { getMigrations: async () => migrations },
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
  });
  const result: MigrationResultSet = await migrator.migrateToLatest();
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName;
    const message = result.error instanceof Error ? result.error.message : String(result.error);
    throw new Error(failed ? `migration ${failed} failed: ${message}` : message, { cause: result.error });
  }
  const applied = (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  return { applied, alreadyApplied: files.map((f) => f.name).filter((name) => !applied.includes(name)) };
}
