import pg from 'pg';
import { usageError } from '../../errors.js';
import type { Db } from '../../warehouse/db.js';
import { closeDatabasesToPublic } from './close-databases.js';
import { readerLeaks } from './reader-leaks.js';
import { generatePassword } from './reader-password.js';
import { applyReaderLimits, currentLimits, DEFAULT_READER_LIMITS, type ReaderLimits } from './reader-limits.js';
import { apiOwner, currentDatabase, findRole, READERS_LOCK } from './reader-roles.js';
import { scramSha256Verifier } from './scram-verifier.js';

export interface GrantReaderResult {
  role: string;
  database: string;
  created: boolean;
  /** True when the role's password was set (a new role, or a password given for an existing one). */
  passwordSet: boolean;
  /** The password made up for a new role given none: to show the user once, never to store or log. */
  generatedPassword?: string;
  /** The limits the role has now. */
  limits: ReaderLimits;
  /** False when fxpipe's role may not set temp_file_limit (a superuser-only setting): the reader's temporary files are not bounded by it. */
  tempFileLimitSet: boolean;
  /** The databases closed to PUBLIC on the way (closeServer). */
  closed: string[];
}

export interface GrantReaderOptions {
  /**
   * The server is fxpipe's own (the embedded one): every database on it is closed to PUBLIC first (CONNECT and TEMP),
   * so the reader connects to its own database only. On a user's server the check names them instead.
   */
  closeServer?: boolean;
}

/**
 * Creates (or updates) the LOGIN role `role` with read access to schema api and nothing else:
 * USAGE on api, SELECT on its views, EXECUTE on its functions, the same on api objects created later
 * (default privileges of the api schema's owner), CONNECT on this database, no TEMP; and its limits
 * (those given, else the role's current ones, else the defaults). Then it checks the whole server: no CONNECT to another
 * database through PUBLIC, TEMP nowhere, no advisory locks (readerLeaks). One transaction: a failed check leaves
 * everything as it was. role must come from parseRoleName.
 */
export async function grantReader(
  db: Db,
  role: string,
  password?: string,
  limits: Partial<ReaderLimits> = {},
  options: GrantReaderOptions = {},
): Promise<GrantReaderResult> {
  return db.transaction(async (tx) => {
    await tx.query('select pg_advisory_xact_lock(hashtext($1))', [READERS_LOCK]);
    const existing = await findRole(tx, role);
    if (existing?.isCurrentUser) throw usageError(`${role} is the role fxpipe connects as: give the reader another name`);
    if (existing && !existing.isReader) {
      throw usageError(`role ${role} exists and is not an fxpipe reader (grant-reader did not create it): give the reader another name`);
    }
    const generatedPassword = !existing && password === undefined ? generatePassword() : undefined;
    const newPassword = password ?? generatedPassword;
    const name = pg.escapeIdentifier(role);
    // A pre-computed SCRAM verifier, never the password: utility statements take no bind parameters,
    // and whatever is written here may end up in the server's statement log.
    const passwordClause = newPassword === undefined ? '' : ` password ${pg.escapeLiteral(scramSha256Verifier(newPassword))}`;
    await tx.query(
      existing
        ? `alter role ${name} with login${passwordClause}`
        : `create role ${name} with login nosuperuser nocreatedb nocreaterole noinherit noreplication nobypassrls${passwordClause}`,
    );
    const newLimits = { ...DEFAULT_READER_LIMITS, ...(existing ? await currentLimits(tx, role) : null), ...limits };
    const { tempFileLimitSet } = await applyReaderLimits(tx, role, newLimits);
    const database = await currentDatabase(tx);
    const owner = pg.escapeIdentifier(await apiOwner(tx));
    const databaseName = pg.escapeIdentifier(database);
    for (const statement of [
      `grant connect on database ${databaseName} to ${name}`,
      // Every role holds TEMP through PUBLIC: a reader's temporary tables would fill the disk fxpipe loads into. fxpipe
      // itself stages loads in temporary tables, so the role it connects as keeps TEMP by name.
      `grant temporary on database ${databaseName} to current_user`,
      `revoke temporary on database ${databaseName} from public`,
      `revoke temporary on database ${databaseName} from ${name}`,
      `grant usage on schema api to ${name}`,
      `grant select on all tables in schema api to ${name}`,
      `grant execute on all functions in schema api to ${name}`,
      `alter default privileges for role ${owner} in schema api grant select on tables to ${name}`,
      `alter default privileges for role ${owner} in schema api grant execute on functions to ${name}`,
    ]) {
      await tx.query(statement);
    }
    const closed = options.closeServer ? await closeDatabasesToPublic(tx) : [];
    const leaks = await readerLeaks(tx, role);
    if (leaks.length > 0) {
      throw usageError(`${role} would be able to do more than read schema api, so nothing was changed: ${leaks.join('; ')}`);
    }
    return {
      role,
      database,
      created: !existing,
      passwordSet: newPassword !== undefined,
      ...(generatedPassword ? { generatedPassword } : {}),
      limits: newLimits,
      tempFileLimitSet,
      closed,
    };
  });
}
