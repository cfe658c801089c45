import type { Db } from '../../warehouse/db.js';

/** How COMMENT ON ROLE of every role grant-reader made begins (its limits follow): revoke-reader touches no other role. */
export const READER_MARKER = 'fxpipe api reader (created by fxpipe db grant-reader)';

/** grant-reader and revoke-reader serialise on this transaction-level advisory lock. */
export const READERS_LOCK = 'fxpipe.readers';

export interface ExistingRole {
  isReader: boolean;
  /** The role this connection logs in as. */
  isCurrentUser: boolean;
}

export async function findRole(db: Db, role: string): Promise<ExistingRole | null> {
  const [row] = await db.query<{ is_reader: boolean; is_current_user: boolean }>(
    `select coalesce(starts_with(shobj_description(oid, 'pg_authid'), $2), false) as is_reader, rolname = current_user as is_current_user
       from pg_roles where rolname = $1`,
    [role, READER_MARKER],
  );
  return row ? { isReader: row.is_reader, isCurrentUser: row.is_current_user } : null;
}

/** The reader roles granted in this database (roles are cluster-wide, grants per database), by name. */
export async function listReaders(db: Db): Promise<string[]> {
  const rows = await db.query<{ rolname: string }>(
    `select rolname from pg_roles
      where starts_with(shobj_description(oid, 'pg_authid'), $1) and has_schema_privilege(oid, to_regnamespace($2)::oid, 'USAGE')
      order by rolname`,
    [READER_MARKER, 'api'],
  );
  return rows.map((row) => row.rolname);
}

/** The role that owns schema api (the migrating role): the one whose future api objects readers' default privileges cover. */
export async function apiOwner(db: Db): Promise<string> {
  const [row] = await db.query<{ owner: string }>(`select pg_get_userbyid(nspowner) as owner from pg_namespace where nspname = $1`, [
    'api',
  ]);
  if (!row) throw new Error('schema api is missing: apply the migrations first');
  return row.owner;
}

export async function currentDatabase(db: Db): Promise<string> {
  const [row] = await db.query<{ name: string }>('select current_database() as name');
  return row!.name;
}
