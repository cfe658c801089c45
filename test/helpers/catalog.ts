import type { Db } from '../../src/warehouse/db.js';

const BOOKKEEPING = ['fxpipe_migration', 'fxpipe_migration_lock'];

/**
 * Everything the schema consists of in the public schema, as sorted text lines: tables, columns with
 * types and defaults, constraints, indexes, partitions and their bounds, views and their definitions,
 * functions with their bodies, domains, triggers, sequences. The migration bookkeeping is left out.
 */
export async function catalogSnapshot(db: Db): Promise<Record<string, string[]>> {
  const q = async (text: string) =>
    (await db.query<{ line: string }>(text.replaceAll('$1', '$1::text[]'), [BOOKKEEPING])).map((r) => r.line).sort();
  return {
    relations:
      await q(`select c.relkind::text || ' ' || c.relname || ' persistence=' || c.relpersistence::text || ' partitioned=' || c.relispartition::text as line
                          from pg_class c join pg_namespace n on n.oid = c.relnamespace
                         where n.nspname = 'public' and c.relkind in ('r','p','v','m','S','i','I','c')
                           and not (c.relname = any($1) or c.relname like any (select b || '%' from unnest($1) b))`),
    columns: await q(`select table_name || '.' || column_name || ' #' || ordinal_position || ' ' || data_type || ' ' || udt_name
                            || ' null=' || is_nullable || ' default=' || coalesce(column_default, '-')
                            || ' p=' || coalesce(numeric_precision::text, '-') || ' s=' || coalesce(numeric_scale::text, '-')
                            || ' identity=' || is_identity || ' gen=' || coalesce(identity_generation, '-') as line
                        from information_schema.columns where table_schema = 'public' and not (table_name = any($1))`),
    constraints:
      await q(`select conrelid::regclass::text || ' ' || conname || ' ' || contype::text || ' ' || pg_get_constraintdef(c.oid) as line
                            from pg_constraint c join pg_namespace n on n.oid = c.connamespace
                           where n.nspname = 'public' and not (conrelid::regclass::text = any($1)) and $1 is not null`),
    indexes: await q(`select tablename || ' ' || indexname || ' ' || indexdef as line from pg_indexes
                       where schemaname = 'public' and not (tablename = any($1))`),
    partitions:
      await q(`select i.inhparent::regclass::text || ' <- ' || i.inhrelid::regclass::text || ' ' || coalesce(pg_get_expr(c.relpartbound, c.oid), '') as line
                           from pg_inherits i join pg_class c on c.oid = i.inhrelid
                           join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public' and $1 is not null`),
    views: await q(`select 'view ' || viewname || ' ' || definition as line from pg_views where schemaname = 'public' and $1 is not null
                    union all
                    select 'matview ' || matviewname || ' ' || definition from pg_matviews where schemaname = 'public'`),
    functions: await q(`select p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ') ' || pg_get_functiondef(p.oid) as line
                          from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'public' and $1 is not null`),
    types: await q(`select t.typname || ' ' || t.typtype::text || ' ' || coalesce(format_type(t.typbasetype, t.typtypmod), '') || ' '
                          || coalesce((select string_agg(pg_get_constraintdef(c.oid), ',') from pg_constraint c where c.contypid = t.oid), '') as line
                      from pg_type t join pg_namespace n on n.oid = t.typnamespace
                     where n.nspname = 'public' and t.typtype in ('d','e','c') and t.typrelid = 0 and $1 is not null`),
    triggers: await q(`select tgrelid::regclass::text || ' ' || tgname || ' ' || pg_get_triggerdef(t.oid) as line
                         from pg_trigger t join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace
                        where n.nspname = 'public' and not t.tgisinternal and not (c.relname = any($1))`),
  };
}
