import type { Db } from '../db.js';

/**
 * Everything role may do beyond reading the api schema, one line each; empty when it is a pure reader.
 * Checked through the has_*_privilege functions, so grants to PUBLIC, role memberships and role
 * attributes all count, whoever made them.
 */
export async function readerLeaks(db: Db, role: string): Promise<string[]> {
  const rows = await db.query<{ leak: string }>(
    `select 'role attribute ' || a.attr as leak
       from pg_roles r,
            lateral (values ('SUPERUSER', r.rolsuper), ('CREATEROLE', r.rolcreaterole), ('CREATEDB', r.rolcreatedb),
                            ('REPLICATION', r.rolreplication), ('BYPASSRLS', r.rolbypassrls)) as a(attr, held)
      where r.rolname = $1 and a.held
     union all
     select 'member of role ' || quote_ident(pg_get_userbyid(m.roleid))
       from pg_auth_members m join pg_roles r on r.oid = m.member where r.rolname = $1
     union all
     select 'CREATE on database ' || quote_ident(current_database())
      where has_database_privilege($1::name, current_database(), 'CREATE')
     union all
     select 'TEMP on database ' || quote_ident(current_database())
      where has_database_privilege($1::name, current_database(), 'TEMP')
     union all
     select 'CREATE on schema ' || quote_ident(n.nspname)
       from pg_namespace n
      where n.nspname not like 'pg\\_%' and n.nspname <> 'information_schema'
        and has_schema_privilege($1::name, n.oid, 'CREATE')
     union all
     select 'access to ' || c.oid::regclass::text
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname not like 'pg\\_%' and n.nspname not in ('information_schema', 'api')
        and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
        and case when c.relkind = 'S' then has_sequence_privilege($1::name, c.oid, 'USAGE,SELECT,UPDATE')
                 else has_table_privilege($1::name, c.oid, 'SELECT,INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER') end
     union all
     select 'write access to ' || c.oid::regclass::text
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'api' and has_table_privilege($1::name, c.oid, 'INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER')
     union all
     select 'EXECUTE on ' || p.oid::regprocedure::text
       from pg_proc p join pg_namespace n on n.oid = p.pronamespace, pg_namespace api
      where api.nspname = 'api' and n.nspname = 'public' and p.proowner = api.nspowner
        and has_function_privilege($1::name, p.oid, 'EXECUTE')
     order by 1`,
    [role],
  );
  return rows.map((row) => row.leak);
}
