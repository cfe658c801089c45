import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { usageError } from '../errors.js';
import { packageRoot } from '../util/package-root.js';
import type { Db } from './db.js';

/**
 * The .sql files in src/warehouse/migrations are the one source of truth for the schema, applied by this one
 * migrator on either access path. Each applied file is recorded with its checksum: a file changed after it was
 * applied, or a new file sorting before one already applied, is refused rather than run out of order.
 */
export const MIGRATION_TABLE = 'fxpipe_migration';
export const MIGRATIONS_DIR = path.join(packageRoot, 'src', 'warehouse', 'migrations');

export interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
}

/** NNNN_name.sql: four digits, an underscore, then lower-case letters, digits and underscores. */
const MIGRATION_NAME = /^\d{4}_[a-z0-9_]+\.sql$/;

/**
 * The migration files, in order. Every file in the folder must be one: a file named otherwise (0004a_new.sql) is
 * refused rather than silently never applied.
 */
export function migrationFiles(dir = MIGRATIONS_DIR): MigrationFile[] {
  const files = readdirSync(dir);
  const stray = files.filter((file) => !MIGRATION_NAME.test(file)).sort();
  if (stray.length > 0) {
    const more = stray.length > 1 ? `; ${stray.length - 1} more such file${stray.length > 2 ? 's' : ''}` : '';
    throw usageError(
      `${path.join(dir, stray[0]!)} is not a migration file name (expected NNNN_name.sql: four digits, an underscore, ` +
        `lower-case letters, digits and underscores${more}): rename or remove it`,
    );
  }
  return files.sort().map((file) => {
    const sql = readFileSync(path.join(dir, file), 'utf8');
    return { name: file.replace(/\.sql$/, ''), sql, checksum: createHash('sha256').update(sql).digest('hex') };
  });
}

export interface MigrateResult {
  applied: string[];
  alreadyApplied: string[];
}

/** A migration recorded as applied; checksum null when an fxpipe that kept none applied it. */
type Applied = Map<string, string | null>;

/**
 * Applies the pending files in one transaction, under an advisory lock, so concurrent callers apply each once; then, in
 * the same transaction, afterwards with the names applied (when there were any).
 */
export async function migrate(
  db: Db,
  files = migrationFiles(),
  afterwards?: (tx: Db, applied: string[]) => Promise<void>,
): Promise<MigrateResult> {
  // Nothing pending (every run): no lock is taken, nothing is written.
  const seen = await appliedMigrations(db);
  if (seen && checkApplied(seen, files).length === 0 && [...seen.values()].every((sum) => sum !== null)) {
    return { applied: [], alreadyApplied: files.map((file) => file.name) };
  }
  return db.transaction(async (tx) => {
    await tx.query('select pg_advisory_xact_lock(hashtextextended($1, 0))', [MIGRATION_TABLE]);
    await tx.query(
      `create table if not exists ${MIGRATION_TABLE} (name varchar(255) not null primary key, timestamp varchar(255) not null)`,
    );
    await tx.query(`alter table ${MIGRATION_TABLE} add column if not exists checksum text`);
    const applied = (await appliedMigrations(tx))!;
    const pending = checkApplied(applied, files);
    for (const file of files.filter((f) => applied.get(f.name) === null)) {
      await tx.query(`update ${MIGRATION_TABLE} set checksum = $2 where name = $1`, [file.name, file.checksum]);
    }
    for (const file of pending) {
      await tx.query(file.sql); // no parameters: the simple protocol, which runs a file's many statements
      await tx.query(`insert into ${MIGRATION_TABLE} (name, timestamp, checksum) values ($1, $2, $3)`, [
        file.name,
        new Date().toISOString(),
        file.checksum,
      ]);
    }
    if (pending.length > 0)
      await afterwards?.(
        tx,
        pending.map((file) => file.name),
      );
    return {
      applied: pending.map((file) => file.name),
      alreadyApplied: files.filter((file) => applied.has(file.name)).map((file) => file.name),
    };
  });
}

/** The recorded migrations; null before the bookkeeping table exists. */
async function appliedMigrations(db: Db): Promise<Applied | null> {
  const [table] = await db.query<{ present: boolean }>('select to_regclass($1) is not null as present', [MIGRATION_TABLE]);
  if (!table?.present) return null;
  // select *: a table an older fxpipe made has no checksum column yet.
  const rows = await db.query<{ name: string; checksum?: string | null }>(`select * from ${MIGRATION_TABLE}`);
  return new Map(rows.map((row) => [row.name, row.checksum ?? null]));
}

/** The files still to apply, after refusing a changed, unknown or out-of-order one. */
function checkApplied(applied: Applied, files: MigrationFile[]): MigrationFile[] {
  const known = new Set(files.map((file) => file.name));
  const unknown = [...applied.keys()].filter((name) => !known.has(name)).sort();
  if (unknown.length > 0) {
    throw usageError(`the database has migration ${unknown.join(', ')}, which this fxpipe does not know: a newer fxpipe migrated it`);
  }
  for (const file of files) {
    const checksum = applied.get(file.name);
    if (checksum && checksum !== file.checksum) {
      throw usageError(
        `migration ${file.name} changed after it was applied to this database (checksum ${checksum.slice(0, 12)}…, the file's ${file.checksum.slice(0, 12)}…); applied migrations are never edited`,
      );
    }
  }
  const pending = files.filter((file) => !applied.has(file.name));
  const latest = [...applied.keys()].sort().at(-1);
  const early = latest === undefined ? undefined : pending.find((file) => file.name < latest);
  if (early)
    throw usageError(
      `migration ${early.name} sorts before ${latest}, already applied: migrations are applied in order, so it cannot run now`,
    );
  return pending;
}
