import { copyFileSync, mkdirSync, readdirSync, writeFileSync, appendFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode, FxpipeError } from '../../src/errors.js';
import { migrate, migrationFiles, MIGRATIONS_DIR } from '../../src/warehouse/migrations.js';
import type { DirectDb } from '../../src/warehouse/direct.js';
import { createTestDatabase, scratchDir, type TestDatabase } from '../helpers/database.js';

/** A copy of the migrations directory, changed by edit, as a later (or tampered) fxpipe would ship it. */
function migrationsCopy(edit: (dir: string) => void = () => undefined): string {
  const dir = path.join(scratchDir('fxpipe-migrations-'), 'migrations');
  mkdirSync(dir);
  for (const file of readdirSync(MIGRATIONS_DIR)) copyFileSync(path.join(MIGRATIONS_DIR, file), path.join(dir, file));
  edit(dir);
  return dir;
}

const recorded = async (db: DirectDb) =>
  await db.query<{ name: string; checksum: string | null }>('select name, checksum from fxpipe_migration order by name');

describe('the migrator: checksums, order, one transaction', () => {
  let database: TestDatabase;
  let db: DirectDb;
  const names = migrationFiles().map((file) => file.name);

  beforeAll(async () => {
    database = await createTestDatabase('fxtest', { empty: true });
    db = await database.open();
    await migrate(db);
  });
  afterAll(() => database.drop());

  it('records every file with the SHA-256 of its text', async () => {
    const rows = await recorded(db);
    expect(rows.map((row) => row.name)).toEqual(names);
    const [first] = await db.query<{ sum: string }>('select encode(sha256(convert_to($1, $2)), $3) as sum', [
      migrationFiles()[0]!.sql,
      'UTF8',
      'hex',
    ]);
    expect(rows[0]!.checksum).toBe(first!.sum);
    expect(rows.every((row) => /^[0-9a-f]{64}$/.test(row.checksum ?? ''))).toBe(true);
  });

  it('refuses a file changed after it was applied, naming it, and applies nothing', async () => {
    const dir = migrationsCopy((d) => {
      appendFileSync(path.join(d, `${names[2]}.sql`), '\n-- edited afterwards\n');
      writeFileSync(path.join(d, '9999_later.sql'), 'create table later_one (id int);');
    });
    await expect(migrate(db, migrationFiles(dir))).rejects.toThrow(new RegExp(`^migration ${names[2]} changed after it was applied`));
    expect((await recorded(db)).map((row) => row.name)).toEqual(names);
    expect(await db.query(`select to_regclass('later_one') as t`)).toEqual([{ t: null }]);
  });

  it('refuses a new file that sorts before one already applied', async () => {
    const dir = migrationsCopy((d) => writeFileSync(path.join(d, '0004_zz_late.sql'), 'create table late_one (id int);'));
    await expect(migrate(db, migrationFiles(dir))).rejects.toThrow(`migration 0004_zz_late sorts before ${names.at(-1)}, already applied`);
    expect(await db.query(`select to_regclass('late_one') as t`)).toEqual([{ t: null }]);
  });

  it('refuses a database a newer fxpipe migrated (a migration it does not know)', async () => {
    const older = migrationFiles().slice(0, -1);
    await expect(migrate(db, older)).rejects.toThrow(`the database has migration ${names.at(-1)}, which this fxpipe does not know`);
  });

  it('fills the checksums of a database an fxpipe without them migrated, applying nothing', async () => {
    await db.query('alter table fxpipe_migration drop column checksum');
    expect(await migrate(db)).toEqual({ applied: [], alreadyApplied: names });
    const rows = await recorded(db);
    expect(rows.map((row) => [row.name, row.checksum])).toEqual(migrationFiles().map((file) => [file.name, file.checksum]));
  });

  it('applies the pending files in one transaction: a failing one leaves none of them', async () => {
    const fresh = await createTestDatabase('fxtest', { empty: true });
    try {
      const empty = await fresh.open();
      const dir = migrationsCopy((d) => {
        writeFileSync(path.join(d, '9998_fine.sql'), 'create table fine_one (id int);');
        writeFileSync(path.join(d, '9999_broken.sql'), 'create table broken_one (id int);\nselect 1 / 0;');
      });
      await expect(migrate(empty, migrationFiles(dir))).rejects.toThrow('division by zero');
      const [left] = await empty.query<{ tables: number; bookkeeping: string | null }>(
        `select count(*)::int as tables, to_regclass('fxpipe_migration')::text as bookkeeping from pg_tables where schemaname = 'public'`,
      );
      expect(left).toEqual({ tables: 0, bookkeeping: null });
    } finally {
      await fresh.drop();
    }
  });
});

describe('the migrations folder', () => {
  it('refuses a file not named NNNN_name.sql in one line naming it, exit code 2, rather than never applying it', () => {
    const dir = migrationsCopy((d) => writeFileSync(path.join(d, '0004a_new.sql'), 'create table stray_one (id int);'));
    let refused: unknown;
    try {
      migrationFiles(dir);
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(FxpipeError);
    expect((refused as FxpipeError).exitCode).toBe(ExitCode.usage);
    expect((refused as FxpipeError).message).toBe(
      `${path.join(dir, '0004a_new.sql')} is not a migration file name (expected NNNN_name.sql: four digits, an underscore, ` +
        'lower-case letters, digits and underscores): rename or remove it',
    );
    const notes = migrationsCopy((d) => writeFileSync(path.join(d, 'notes.txt'), 'x'));
    expect(() => migrationFiles(notes)).toThrow(/notes\.txt is not a migration file name/);
    const names = readdirSync(MIGRATIONS_DIR)
      .sort()
      .map((file) => file.replace(/\.sql$/, ''));
    expect(migrationFiles(migrationsCopy()).map((file) => file.name)).toEqual(names);
  });
});
