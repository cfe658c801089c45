import pg from 'pg';
import { usageError } from '../../errors.js';
import type { Db } from '../../warehouse/db.js';
import { apiOwner, currentDatabase, findRole, READERS_LOCK } from './reader-roles.js';
import { hasSqlState, SqlState } from '../../warehouse/sqlstate.js';

export interface RevokeReaderResult {
  role: string;
  database: string;
  dropped: boolean;
  /** Why the role could not be dropped (PostgreSQL's list of what still depends on it, e.g. grants in another database). */
  remaining?: string;
}

/**
 * Revokes everything grant-reader granted in this database (privileges and default-privilege entries),
 * then drops the role. A role that still holds privileges elsewhere (another database it was granted
 * in) keeps existing: this database's revocation still commits, and `remaining` says what is left.
 * Refuses any role grant-reader did not create. role must come from parseRoleName.
 */
export async function revokeReader(db: Db, role: string): Promise<RevokeReaderResult> {
  return db.transaction(async (tx) => {
    await tx.query('select pg_advisory_xact_lock(hashtext($1))', [READERS_LOCK]);
    const existing = await findRole(tx, role);
    if (!existing) throw usageError(`no role ${role} on this server`);
    if (!existing.isReader) throw usageError(`role ${role} is not an fxpipe reader (grant-reader did not create it): left untouched`);
    const name = pg.escapeIdentifier(role);
    const database = await currentDatabase(tx);
    const owner = pg.escapeIdentifier(await apiOwner(tx));
    for (const statement of [
      `alter default privileges for role ${owner} in schema api revoke all on tables from ${name}`,
      `alter default privileges for role ${owner} in schema api revoke all on functions from ${name}`,
      `revoke all on all tables in schema api from ${name}`,
      `revoke all on all functions in schema api from ${name}`,
      `revoke all on schema api from ${name}`,
      `revoke all on database ${pg.escapeIdentifier(database)} from ${name}`,
    ]) {
      await tx.query(statement);
    }
    await tx.query('savepoint drop_reader');
    try {
      await tx.query(`drop role ${name}`);
      return { role, database, dropped: true };
    } catch (error) {
      if (!hasSqlState(error, SqlState.dependent_objects_still_exist)) throw error;
      const pgError = error as { detail?: string; message: string };
      await tx.query('rollback to savepoint drop_reader');
      return { role, database, dropped: false, remaining: (pgError.detail ?? pgError.message).replace(/\s*\n\s*/g, '; ') };
    }
  });
}
