import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { Db } from '../../src/warehouse/db.js';
import { migrate, migrationFiles } from '../../src/warehouse/migrations.js';
import { dropRoles, uniqueRole } from '../consumption/support.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { harness, type Harness } from '../helpers/pipeline.js';

/** Migration 0020: dim_source.tier is now rank; the api keeps its column names, and no function reads the old column. */
describe("a source's rank (migration 0020)", () => {
  const databases: TestDatabase[] = [];
  const roles: string[] = [];
  let h: Harness | undefined;
  afterAll(async () => {
    await h?.close();
    await Promise.all(databases.map((d) => d.drop()));
    await dropRoles(inject('adminUrl'), roles);
  });

  const columnsOf = async (db: Db, schema: string, table: string) =>
    (
      await db.query<{ name: string }>(
        `select column_name as name from information_schema.columns where table_schema = $1 and table_name = $2 order by ordinal_position`,
        [schema, table],
      )
    ).map((r) => r.name);

  /** Every api view's columns, in order, with their types. */
  const apiColumns = (db: Db) =>
    db.query<{ view: string; columns: string }>(
      `select c.relname as view, string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' order by a.attnum) as columns
         from pg_class c join pg_attribute a on a.attrelid = c.oid
        where c.relnamespace = 'api'::regnamespace and c.relkind in ('v', 'm') and a.attnum > 0 and not a.attisdropped
        group by c.relname order by c.relname`,
    );

  /** What `create or replace` must keep of the two recreated functions, and their signatures. */
  const recreated = (db: Db) =>
    db.query<{
      name: string;
      args: string;
      definer: boolean;
      config: string[] | null;
      owner: string;
      acl: string[] | null;
      volatility: string;
    }>(
      `select p.proname as name, pg_get_function_arguments(p.oid) as args, p.prosecdef as definer, p.proconfig as config,
              pg_get_userbyid(p.proowner) as owner, p.proacl::text[] as acl, p.provolatile::text as volatility
         from pg_proc p
        where p.pronamespace = 'api'::regnamespace and p.proname = any ($1::text[]) order by p.proname`,
      [['usd_rate', 'convert']],
    );

  /** Functions outside the system schemas whose stored body names a column tier. */
  const readingTier = (db: Db) =>
    db.query<{ fn: string }>(
      `select n.nspname || '.' || p.proname as fn from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname not in ('pg_catalog', 'information_schema') and p.prosrc ~ $1`,
      ['\\mtier\\M'],
    );

  it("renames the column on a warehouse that has sources, keeping their values, the api's columns and the functions' rights", async () => {
    const database = await createTestDatabase('fxtest', { empty: true });
    databases.push(database);
    const db = await database.open();
    // The migrations through 0020 (later ones change the api in their own ways).
    const through0020 = migrationFiles().filter((file) => file.name <= '0020_source_rank');
    expect(through0020.at(-1)?.name).toBe('0020_source_rank');
    await migrate(db, through0020.slice(0, -1));
    await db.query(`insert into dim_source (source_name, tier, endpoint) select * from unnest($1::text[], $2::text[], $3::text[])`, [
      ['open-er-api', 'frankfurter', 'ecb'],
      ['primary', 'fallback', 'reference'],
      ['http://127.0.0.1:9/a', 'http://127.0.0.1:9/b', 'http://127.0.0.1:9/c'],
    ]);
    const reader = uniqueRole();
    roles.push(reader);
    await db.query(`create role ${pg.escapeIdentifier(reader)} nologin`);
    await db.query(
      `grant execute on function api.usd_rate(text, timestamptz), api.convert(numeric, text, text, timestamptz) to ${pg.escapeIdentifier(reader)}`,
    );
    const sourcesBefore = await db.query('select * from api.sources order by source');
    const columnsBefore = await apiColumns(db);
    const functionsBefore = await recreated(db);
    expect((await readingTier(db)).map((r) => r.fn).sort()).toEqual(['api.convert', 'api.usd_rate']);

    expect((await migrate(db, through0020)).applied).toEqual(['0020_source_rank']);

    expect(await columnsOf(db, 'public', 'dim_source')).toEqual([
      'source_id',
      'source_name',
      'rank',
      'endpoint',
      'is_active',
      'updated_at',
    ]);
    expect(await db.query('select source_name, rank from dim_source order by source_id')).toEqual([
      { source_name: 'open-er-api', rank: 'primary' },
      { source_name: 'frankfurter', rank: 'fallback' },
      { source_name: 'ecb', rank: 'reference' },
    ]);
    const checks = await db.query<{ name: string }>(
      `select conname as name from pg_constraint where conrelid = 'dim_source'::regclass and contype = 'c' order by 1`,
    );
    expect(checks.map((c) => c.name)).toEqual(['dim_source_rank_check', 'dim_source_source_name_check']);
    await expect(db.query(`update dim_source set rank = $1 where source_name = $2`, ['hot', 'ecb'])).rejects.toMatchObject({
      code: '23514',
    });
    expect(
      await db.query<{ name: string }>(
        `select conname as name from pg_constraint where conrelid = 'dim_source'::regclass and conname ~ $1`,
        ['tier'],
      ),
    ).toEqual([]);

    expect(await readingTier(db)).toEqual([]);
    expect(await apiColumns(db)).toEqual(columnsBefore);
    expect(await db.query('select * from api.sources order by source')).toEqual(sourcesBefore);
    expect(await recreated(db)).toEqual(functionsBefore);
    expect(functionsBefore.map((f) => [f.name, f.definer, f.config])).toEqual([
      ['convert', true, ['search_path=pg_catalog, public']],
      ['usd_rate', true, ['search_path=pg_catalog, public']],
    ]);
    for (const fn of ['api.usd_rate(text, timestamptz)', 'api.convert(numeric, text, text, timestamptz)']) {
      const [granted] = await db.query<{ ok: boolean }>('select has_function_privilege($1, $2, $3) as ok', [reader, fn, 'execute']);
      expect(granted?.ok, fn).toBe(true);
    }
    const parameters = await db.query<{ name: string }>(
      `select p.parameter_name as name from information_schema.parameters p
         join information_schema.routines r on r.specific_schema = p.specific_schema and r.specific_name = p.specific_name
        where r.routine_schema = 'api' and r.routine_name = 'source_rank' order by p.ordinal_position`,
    );
    expect(parameters.map((p) => p.name)).toEqual(['p_tier']);
  });

  it("after a load: api.sources.tier and the views' source_tier hold each source's rank, and the functions follow rank", async () => {
    h = await harness('2024-01-09T12:00:00Z');
    const result = await h.run({ changeThresholdPct: 0 });
    expect(result.status).toBe('loaded');
    expect(await columnsOf(h.db, 'public', 'dim_source')).not.toContain('tier');
    expect(await columnsOf(h.db, 'api', 'sources')).toContain('tier');
    for (const view of ['latest_rates', 'source_comparison']) expect(await columnsOf(h.db, 'api', view), view).toContain('source_tier');

    expect(await h.db.query('select source, tier from api.sources order by source')).toEqual([
      { source: 'frankfurter', tier: 'fallback' },
      { source: 'open-er-api', tier: 'primary' },
    ]);
    const latest = await h.db.query<{ source: string; tiers: string[] }>(
      `select source, array_agg(distinct source_tier) as tiers from api.latest_rates group by source order by source`,
    );
    expect(latest).toEqual([
      { source: 'frankfurter', tiers: ['fallback'] },
      { source: 'open-er-api', tiers: ['primary'] },
    ]);
    const compared = await h.db.query<{ source: string; tiers: string[] }>(
      `select source, array_agg(distinct source_tier) as tiers from api.source_comparison group by source order by source`,
    );
    expect(compared).toEqual(latest);

    const eur = async () => (await h!.db.query<{ source: string }>(`select source from api.usd_rate($1)`, ['EUR']))[0]?.source;
    const converted = async () =>
      (
        await h!.db.query<{ from_source: string; to_source: string }>(`select from_source, to_source from api.convert(1, $1, $2)`, [
          'EUR',
          'GBP',
        ])
      )[0];
    expect(await eur()).toBe('open-er-api');
    expect(await converted()).toEqual({ from_source: 'open-er-api', to_source: 'open-er-api' });
    await h.db.query(`update dim_source set rank = case source_name when $1 then 'primary' else 'fallback' end`, ['frankfurter']);
    expect(await eur()).toBe('frankfurter');
    expect(await converted()).toEqual({ from_source: 'frankfurter', to_source: 'frankfurter' });
    expect(await h.db.query('select source, tier from api.sources order by source')).toEqual([
      { source: 'frankfurter', tier: 'primary' },
      { source: 'open-er-api', tier: 'fallback' },
    ]);
  });
});
