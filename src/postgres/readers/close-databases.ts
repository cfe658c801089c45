import pg from 'pg';
import type { Db } from '../../warehouse/db.js';

/**
 * Takes CONNECT and TEMP from PUBLIC on every database of the server that accepts connections, as PostgreSQL gives them
 * to every new database (postgres, fxpipe, and any made later: a template's privileges are not copied). Afterwards only
 * superusers, each database's owner and roles granted CONNECT by name (grant-reader's readers, in their own database)
 * connect. For the embedded server, which is fxpipe's own; on a user's server fxpipe only reports them (readerLeaks).
 * Needs a superuser (or each database's owner). Returns the databases it closed.
 */
export async function closeDatabasesToPublic(db: Db): Promise<string[]> {
  const open = await db.query<{ name: string }>(
    `select d.datname as name from pg_database d
      where d.datallowconn
        and exists (select 1 from aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a
                     where a.grantee = 0 and a.privilege_type in ('CONNECT', 'TEMPORARY'))
      order by 1`,
  );
  for (const { name } of open) await db.query(`revoke connect, temporary on database ${pg.escapeIdentifier(name)} from public`);
  return open.map((row) => row.name);
}
