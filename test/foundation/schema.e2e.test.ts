import { afterAll, describe, expect, it } from 'vitest';
import { initWarehouse } from '../../src/warehouse/init.js';
import { migrationFiles } from '../../src/warehouse/migrations.js';
import { monthStart } from '../../src/warehouse/partitions.js';
import { catalogSnapshot } from '../helpers/catalog.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { runCli } from '../helpers/cli.js';

describe('schema migrations', () => {
  const dbs: TestDatabase[] = [];
  // Empty databases: these tests are of the migrations themselves.
  const fresh = async () => {
    const db = await createTestDatabase('fxtest', { empty: true });
    dbs.push(db);
    return db;
  };
  afterAll(async () => {
    await Promise.all(dbs.map((db) => db.drop()));
  });

  it('db init applies every migration once; the second run reports nothing to do', async () => {
    const target = await fresh();
    const first = await runCli(['db', 'init'], { env: { DATABASE_URL: target.url } });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const total = migrationFiles().length;
    expect(first.stdout).toMatch(new RegExp(`^Applied ${total} of ${total} migrations with the direct driver`));
    const second = await runCli(['db', 'init'], { env: { DATABASE_URL: target.url } });
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(new RegExp(`^Nothing to do: all ${total} migrations already applied`));
    expect(second.stdout).not.toContain('Created partitions');
  });

  it('creates every table, read models that are tables or plain views (nothing to refresh), and partitions for this month and the next 3', async () => {
    const target = await fresh();
    const db = await target.open();
    await initWarehouse(db);
    const tables = (await db.query<{ t: string }>(`select tablename as t from pg_tables where schemaname = 'public'`)).map((r) => r.t);
    for (const table of [
      'bronze_extraction',
      'dim_currency',
      'dim_source',
      'dim_date',
      'fact_rates_current',
      'fact_rates_history',
      'rejected_rates',
      'pipeline_runs',
      'source_publications',
      'rates_daily',
      'rates_monthly',
    ]) {
      expect(tables).toContain(table);
    }
    expect(await db.query(`select matviewname from pg_matviews`)).toEqual([]);
    const views = (await db.query<{ v: string }>(`select viewname as v from pg_views where schemaname = 'public' order by 1`)).map(
      (r) => r.v,
    );
    expect(views).toEqual(['vw_latest_pairs', 'vw_rates_comparison', 'vw_rates_daily_agg', 'vw_rates_latest', 'vw_rates_monthly_agg']);

    const [kind] = await db.query<{ strategy: string }>(
      `select partstrat as strategy from pg_partitioned_table where partrelid = 'fact_rates_history'::regclass`,
    );
    expect(kind?.strategy).toBe('r');
    const parts = (
      await db.query<{ name: string }>(
        `select inhrelid::regclass::text as name from pg_inherits where inhparent = 'fact_rates_history'::regclass`,
      )
    ).map((r) => r.name);
    const now = new Date();
    for (let i = 0; i <= 3; i++) {
      const month = monthStart(now, i);
      expect(parts).toContain(`fact_rates_history_y${month.slice(0, 4)}m${month.slice(5, 7)}`);
    }
    expect(parts).toContain('fact_rates_history_default');
  });

  it('stores rates as numeric, never float, and keeps 1e-8 and 1e9 exactly', async () => {
    const target = await fresh();
    const db = await target.open();
    await initWarehouse(db);
    const floats = await db.query(`select table_name, column_name from information_schema.columns
                                    where table_schema = 'public' and data_type in ('real', 'double precision')`);
    expect(floats).toEqual([]);
    const [row] = await db.query<{ small: string; big: string; long: string }>(
      `select '0.00000001'::fx_rate::text as small, '1000000000'::fx_rate::text as big,
              '0.000000012345678901234567'::fx_rate::text as long`,
    );
    expect(row).toEqual({ small: '0.00000001', big: '1000000000', long: '0.000000012345678901234567' });
    await expect(db.query(`select '0'::fx_rate`)).rejects.toThrow(/fx_rate_check|violates check constraint/);
  });

  it('fills dim_date with calendar attributes', async () => {
    const target = await fresh();
    const db = await target.open();
    await initWarehouse(db);
    const [row] = await db.query(`select * from dim_date where date_key = 20240101`);
    expect(row).toMatchObject({
      year: 2024,
      quarter: 1,
      month: 1,
      iso_year: 2024,
      iso_week: 1,
      day_of_month: 1,
      day_of_week: 1,
      is_weekend: false,
      month_name: 'January',
      quarter_name: 'Q1',
    });
    const [sunday] = await db.query(`select iso_year, iso_week, day_of_week, is_weekend from dim_date where date_key = 20220102`);
    expect(sunday).toMatchObject({ iso_year: 2021, iso_week: 52, day_of_week: 7, is_weekend: true });
  });

  it('creating a partition moves the rows the default partition caught for that month', async () => {
    const target = await fresh();
    const db = await target.open();
    await initWarehouse(db);
    await db.query(`insert into dim_currency (currency_code, currency_name) values ('USD', 'US Dollar'), ('EUR', 'Euro')`);
    await db.query(`insert into dim_source (source_name, rank, endpoint) values ('ecb', 'primary', 'http://127.0.0.1')`);
    await db.query(`insert into fact_rates_history (date_key, base_currency_id, quote_currency_id, source_id, rate_timestamp, rate)
                    values (20100315, 1, 2, 1, '2010-03-15T14:00:00Z', 0.7352)`);
    const [caught] = await db.query<{ n: number }>('select count(*)::int as n from fact_rates_history_default');
    expect(caught?.n).toBe(1);
    const created = await db.query<{ name: string }>(`select fx_ensure_partitions('2010-03-01', '2010-03-31') as name`);
    expect(created.map((r) => r.name)).toEqual(['fact_rates_history_y2010m03']);
    const [left] = await db.query<{ n: number }>('select count(*)::int as n from fact_rates_history_default');
    expect(left?.n).toBe(0);
    const [moved] = await db.query<{ rate: string }>('select rate::text from fact_rates_history_y2010m03');
    expect(moved?.rate).toBe('0.7352');
    const again = await db.query(`select fx_ensure_partitions('2010-03-01', '2010-03-31') as name`);
    expect(again).toEqual([]);
  });

  it('the direct and pooled paths produce identical catalogs', async () => {
    const a = await fresh();
    const b = await fresh();
    const direct = await a.openAs('direct');
    const pooled = await b.openAs('pooled');
    const viaDirect = await initWarehouse(direct);
    const viaPooled = await initWarehouse(pooled);
    expect(viaDirect.applied).toEqual(viaPooled.applied);
    const [left, right] = [await catalogSnapshot(direct), await catalogSnapshot(pooled)];
    for (const section of Object.keys(left).filter((s) => s !== 'triggers')) expect(left[section]!.length, section).toBeGreaterThan(0);
    expect(right).toEqual(left);
    // The bookkeeping is shared too: each path sees the other's migrations as applied.
    const crossed = await initWarehouse(await a.openAs('pooled'));
    expect(crossed.applied).toEqual([]);
    const crossedBack = await initWarehouse(await b.openAs('direct'));
    expect(crossedBack.applied).toEqual([]);
  });

  it('db init --driver pooled works from the CLI', async () => {
    const target = await fresh();
    const result = await runCli(['db', 'init', '--driver', 'pooled', '--json'], { env: { DATABASE_URL: target.url } });
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout) as unknown;
    expect(json).toMatchObject({ driver: 'pooled', applied: migrationFiles().map((file) => file.name) });
    expect(result.stdout).not.toContain(new URL(target.url).password || 'no-password');
  });

  it('two concurrent db init runs on one database both succeed', async () => {
    const target = await fresh();
    const [one, two] = await Promise.all([
      runCli(['db', 'init'], { env: { DATABASE_URL: target.url } }),
      runCli(['db', 'init', '--driver', 'pooled'], { env: { DATABASE_URL: target.url } }),
    ]);
    expect([one.code, two.code, one.stderr, two.stderr]).toEqual([0, 0, '', '']);
  });
});
