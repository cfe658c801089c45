import type { Db } from '../warehouse/db.js';
import { READER_MARKER } from '../postgres/readers/reader-roles.js';
import type { Connections } from './types.js';

/** Client connections to this database right now (this one excluded), and how many are reader roles'. */
export async function measureConnections(db: Db): Promise<Connections> {
  const [row] = await db.query<{ clients: number; active: number; readers: number; reader_roles: number; max_connections: number }>(
    `with readers as (select rolname from pg_roles where starts_with(shobj_description(oid, 'pg_authid'), $1))
     select count(*) filter (where true)::int as clients,
            count(*) filter (where a.state = 'active')::int as active,
            count(*) filter (where a.usename in (select rolname from readers))::int as readers,
            (select count(*)::int from readers) as reader_roles,
            current_setting('max_connections')::int as max_connections
       from pg_stat_activity a
      where a.datname = current_database() and a.backend_type = 'client backend' and a.pid <> pg_backend_pid()`,
    [READER_MARKER],
  );
  if (!row) throw new Error('pg_stat_activity: no answer');
  return {
    clients: row.clients,
    active: row.active,
    readers: row.readers,
    readerRoles: row.reader_roles,
    maxConnections: row.max_connections,
  };
}
