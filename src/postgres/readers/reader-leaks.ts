import type { Db } from '../../warehouse/db.js';

export interface LeakScope {
  /**
   * Also the other databases of the server, from their ACLs: CONNECT a reader holds through PUBLIC, TEMP wherever it can
   * connect. check-remote leaves them out and connects to each for real instead (pg_hba.conf may refuse what the ACL allows).
   */
  otherDatabases: boolean;
}

/**
 * Everything role may do beyond reading the api schema, one line each, each naming its fix where it is one statement;
 * empty when it is a pure reader. Checked through the has_*_privilege functions, so grants to PUBLIC, role memberships
 * and role attributes all count, whoever made them.
 */
export async function readerLeaks(db: Db, role: string, scope: LeakScope = { otherDatabases: true }): Promise<string[]> {
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
     union all
     -- Advisory locks are shared by every role in the database: a reader holding a key fxpipe takes would stall it.
     select format('advisory locks: EXECUTE on %s (%s of the %s advisory-lock functions), through PUBLIC; a superuser revokes it in database %I (docs/make-com.md)',
                   min(p.oid::regprocedure::text), count(*), (select count(*) from pg_proc where pronamespace = 'pg_catalog'::regnamespace and proname like '%advisory%'),
                   current_database())
       from pg_proc p
      where p.pronamespace = 'pg_catalog'::regnamespace and p.proname like '%advisory%' and has_function_privilege($1::name, p.oid, 'EXECUTE')
     having count(*) > 0
     union all
     -- Every database of the server: PostgreSQL gives PUBLIC CONNECT and TEMP on each new one. CONNECT granted to the
     -- reader by name (grant-reader in another fxpipe database) is its own; through PUBLIC it is a way out of this one.
     select case when d.datname <> current_database() and not by_name.connect
                 then format('CONNECT on database %1$I through PUBLIC (fix: revoke connect, temporary on database %1$I from public)', d.datname)
                 else format('TEMP on database %1$I (fix: revoke temporary on database %1$I from public, %2$I)', d.datname, $1::text) end
       from pg_database d
            cross join lateral (select exists (select 1 from aclexplode(d.datacl) a join pg_roles r on r.oid = a.grantee
                                                where r.rolname = $1 and a.privilege_type = 'CONNECT') as connect) by_name
      where d.datallowconn and ($2 or d.datname = current_database())
        and has_database_privilege($1::name, d.oid, 'CONNECT')
        and ((d.datname <> current_database() and not by_name.connect) or has_database_privilege($1::name, d.oid, 'TEMP'))
     order by 1`,
    [role, scope.otherDatabases],
  );
  return rows.map((row) => row.leak);
}
