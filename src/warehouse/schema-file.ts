import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { usageError } from '../errors.js';
import { packageRoot } from '../util/package-root.js';
import { locateUrl, openDirect } from './connection.js';
import { createClosedDatabase, databaseTarget } from './databases.js';
import { migrate } from './migrations.js';
import { asPostgres, DEBIAN_BIN, DEBIAN_MAJOR, debianUnavailable, postgresUid } from '../postgres/server/debian.js';

/*
 * src/warehouse/schema.sql: the schema as the migrations leave it, in one file, so that a reader sees each function and
 * view as it stands today (the migrations stay the history, each one's diff its real effect). It is pg_dump
 * --schema-only of a database migrated from empty (migrations only: no calendar rows, no monthly partitions, which
 * `db init` adds by date), by Debian's pg_dump 15 from a PostgreSQL 15 server (a pg_dump refuses a newer server, and
 * another major version writes some things differently), normalised so that it reads the same whoever makes it and
 * when. `npm run db:schema` writes it; test/warehouse/schema-file.e2e.test.ts fails when it is stale.
 */

export const SCHEMA_FILE = path.join(packageRoot, 'src', 'warehouse', 'schema.sql');
const PG_DUMP = path.join(DEBIAN_BIN, 'pg_dump');
const execFileP = promisify(execFile);

const HEADER = `-- The warehouse's schema as the migrations in src/warehouse/migrations leave it: GENERATED, do not edit.
-- Regenerate with \`npm run db:schema\` after adding a migration, and commit it with the migration (npm test fails while
-- it is stale). pg_dump ${DEBIAN_MAJOR} --schema-only --no-owner of a PostgreSQL ${DEBIAN_MAJOR} database migrated from empty; privileges kept,
-- version lines and session settings left out. For reading: the migrations, not this file, make a warehouse.
`;

/**
 * What of pg_dump's output changes with who runs it, when, and with which minor version, left out: the version lines,
 * psql's \restrict guard (a random key each time), the session settings (SET …, search_path) and the opening and closing
 * banners. Ownership is left out by --no-owner; in privileges, the role that migrated (owner: `alter default privileges`
 * is dumped FOR ROLE it) reads CURRENT_USER. Everything else stays as pg_dump writes it, in its own order.
 */
export function normaliseSchemaDump(dump: string, owner: string): string {
  const dropped = [
    /^-- Dumped (from database|by pg_dump) version /,
    /^\\(un)?restrict /,
    /^SET [a-z_]+ = .*;$/,
    /^SELECT pg_catalog\.set_config\('search_path', '', false\);$/,
  ];
  const quoted = `"${owner.replaceAll('"', '""')}"`;
  const ownerName = new RegExp(`(?<= )(${escapeRegExp(quoted)}|${escapeRegExp(owner)})(?=[ ;,])`, 'g');
  const kept = dump
    .replace(/\r\n/g, '\n')
    .split('\n')
    .filter((line) => !dropped.some((pattern) => pattern.test(line)))
    .map((line) => (/^(GRANT|REVOKE|ALTER DEFAULT PRIVILEGES) /.test(line) ? line.replace(ownerName, 'CURRENT_USER') : line));
  return kept
    .join('\n')
    .replace(/^--\n-- PostgreSQL database dump\n--\n/, '')
    .replace(/--\n-- PostgreSQL database dump complete\n--\n*$/, '')
    .replace(/\n{4,}/g, '\n\n\n')
    .trim()
    .concat('\n');
}

/** The schema file's text for a pg_dump of the schema made by owner. */
export function schemaFileText(dump: string, owner: string): string {
  return `${HEADER}\n${normaliseSchemaDump(dump, owner)}`;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** pg.Client on url for fn, closed after. */
async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Why the server at url cannot make the schema file, or null when it can: it must be PostgreSQL 15 (pg_dump's), and the
 * role a superuser other than the bootstrap one. Migrations 0008 and 0011 change privileges in pg_catalog, which only a
 * superuser may; the bootstrap superuser owns pg_catalog, so what 0011 grants the migrating role is no change for it
 * and its dump would lack those lines.
 */
async function serverUnfit(url: string): Promise<string | null> {
  const [row] = await withClient(
    url,
    async (client) =>
      (
        await client.query<{ version: string; superuser: boolean; bootstrap: boolean }>(
          `select current_setting('server_version_num') as version, r.rolsuper as superuser, r.oid = 10 as bootstrap
       from pg_roles r where r.rolname = current_user`,
        )
      ).rows,
  );
  const major = Math.floor(Number(row!.version) / 10_000);
  if (major !== DEBIAN_MAJOR) return `is PostgreSQL ${major}, not ${DEBIAN_MAJOR}`;
  if (!row!.superuser) return 'has its user not a superuser';
  if (row!.bootstrap) return 'has its user the bootstrap superuser (who owns pg_catalog): connect as another superuser';
  return null;
}

/** Where the schema file is made: databaseUrl's server (its one host libpq would choose), a throwaway cluster, or why neither. */
async function schemaServer(databaseUrl?: string): Promise<{ url: string } | { cluster: true } | { unavailable: string }> {
  if (!existsSync(PG_DUMP)) return { unavailable: `needs Debian's pg_dump ${DEBIAN_MAJOR} (${PG_DUMP})` };
  const url = databaseUrl === undefined ? null : (await locateUrl(databaseUrl, 'DATABASE_URL')).url;
  const unfit = url === null ? 'is not set' : await serverUnfit(url);
  if (url !== null && unfit === null) return { url };
  const cluster = debianUnavailable(['initdb', 'pg_ctl']);
  return cluster === null
    ? { cluster: true }
    : { unavailable: `needs a PostgreSQL ${DEBIAN_MAJOR} server: DATABASE_URL ${unfit}, and a throwaway cluster ${cluster}` };
}

/**
 * Why the schema file cannot be made here, or null when it can: on databaseUrl's server when it fits (see serverUnfit),
 * else on a throwaway Debian PostgreSQL 15 cluster (as root).
 */
export async function schemaServerUnavailable(databaseUrl?: string): Promise<string | null> {
  const server = await schemaServer(databaseUrl);
  return 'unavailable' in server ? server.unavailable : null;
}

/**
 * The schema file's text as the migrations make it now: a database migrated from empty on databaseUrl's server when it
 * fits (dropped afterwards), else on a throwaway Debian PostgreSQL 15 cluster (as root), dumped and normalised.
 */
export async function liveSchemaFile(databaseUrl?: string): Promise<string> {
  const server = await schemaServer(databaseUrl);
  if ('unavailable' in server) throw usageError(`cannot make the schema file: it ${server.unavailable}`);
  return 'url' in server ? dumpMigrated(server.url) : withThrowawayCluster(dumpMigrated);
}

/** A new database on adminUrl's server, migrated from empty, its schema dumped into the file's text, then dropped. */
async function dumpMigrated(adminUrl: string): Promise<string> {
  const name = `fxschema_${randomBytes(6).toString('hex')}`;
  const admin = { url: adminUrl, label: 'the schema server', embedded: false };
  const owner = await withClient(adminUrl, async (client) => {
    await createClosedDatabase(client, name);
    return (await client.query<{ name: string }>('select current_user as name')).rows[0]!.name;
  });
  try {
    const target = databaseTarget(admin, name);
    const db = await openDirect(target);
    try {
      await migrate(db);
    } finally {
      await db.close();
    }
    // The password goes by PGPASSWORD, not on pg_dump's command line (which any user of the machine can read).
    const url = new URL(target.url);
    const password = decodeURIComponent(url.password);
    url.password = '';
    const { stdout } = await execFileP(PG_DUMP, ['--schema-only', '--no-owner', `--dbname=${url.toString()}`], {
      env: { ...process.env, ...(password ? { PGPASSWORD: password } : {}) },
      maxBuffer: 64 * 1024 * 1024,
      timeout: 120_000,
    });
    return schemaFileText(stdout, owner);
  } finally {
    await withClient(adminUrl, (client) => client.query(`drop database if exists ${name} with (force)`));
  }
}

/** A Debian PostgreSQL 15 cluster for fn, on a Unix socket only (no TCP), in a directory only postgres (and root) enters; removed after. */
async function withThrowawayCluster<T>(fn: (adminUrl: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(path.join(process.env.TMPDIR ?? tmpdir(), 'fxpipe-schema-'));
  chmodSync(dir, 0o700);
  chownSync(dir, await postgresUid(), -1);
  const data = path.join(dir, 'data');
  try {
    await asPostgres('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '-N']);
    await asPostgres('pg_ctl', [
      '-D',
      data,
      '-l',
      path.join(dir, 'server.log'),
      '-w',
      '-t',
      '60',
      '-o',
      `-c listen_addresses= -k ${dir} -c fsync=off -c full_page_writes=off -c synchronous_commit=off`,
      'start',
    ]);
    try {
      // host= (the socket's directory) overrides localhost, for libpq and node-postgres alike.
      const url = (user: string) => `postgresql://${user}@localhost/postgres?host=${encodeURIComponent(dir)}`;
      // The migrations run as a superuser other than the bootstrap one, as on a server set up for fxpipe (see serverUnfit).
      await withClient(url('postgres'), (client) => client.query('create role fxpipe login superuser'));
      return await fn(url('fxpipe'));
    } finally {
      await asPostgres('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
