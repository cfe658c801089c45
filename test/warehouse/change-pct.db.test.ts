import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storedChangePct } from '../../src/transform/change-filter.js';
import type { DirectDb } from '../../src/warehouse/direct.js';
import { upsertCurrencies, upsertSource } from '../../src/warehouse/dimensions.js';
import { migrate, migrationFiles } from '../../src/warehouse/migrations.js';
import { ensurePartitions } from '../../src/warehouse/partitions.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { changePctOracle, CHANGE_PCT_CASES } from '../transform/change-pct-cases.js';

/**
 * Migration 0021: change_pct holds only what every tier holds. A warehouse an earlier fxpipe loaded may hold a
 * larger one (1e-13 → 1 is about +1e15 %): the migration makes it null, as the rule stores it now, and a CHECK
 * constraint refuses one from any writer. fx_change_pct, the rule in SQL, answers as storedChangePct, the rule in
 * TypeScript, and both as an exact oracle.
 */
describe('migration 0021: change_pct within DECIMAL(38,24)', () => {
  let database: TestDatabase;
  let db: DirectDb;

  beforeAll(async () => {
    database = await createTestDatabase('fxtest', { empty: true });
    db = await database.open();
    // A warehouse as the version before 0021 left it, holding moves of every size.
    await migrate(
      db,
      migrationFiles().filter((file) => file.name < '0021'),
    );
    const ids = await upsertCurrencies(db, ['USD', 'VES', 'XAF', 'EUR']);
    const source = await upsertSource(db, 'open-er-api', 'primary', 'https://example.invalid');
    await ensurePartitions(db, '2024-01-01', '2024-01-31');
    const rows: [string, string, string, string][] = [
      ['VES', '2024-01-10T00:00:00Z', '1', '999999999999900.00000000'],
      ['XAF', '2024-01-10T00:00:00Z', '99999999999999.99', '9999999999999998999999999999999999999900.00000000'],
      ['EUR', '2024-01-10T00:00:00Z', '0.91', '1.11111111'],
      ['EUR', '2024-01-11T00:00:00Z', '0.92', '99999999999999.99999999'],
      ['EUR', '2024-01-12T00:00:00Z', '0.93', '-100000000000000.00000000'],
    ];
    for (const [quote, at, rate, change] of rows) {
      await db.query(
        `insert into fact_rates_history
           (date_key, base_currency_id, quote_currency_id, source_id, rate_timestamp, rate, previous_rate, change_pct)
         values (to_char($4::timestamptz at time zone 'UTC', 'YYYYMMDD')::int, $1, $2, $3, $4, $5::numeric, 0.5, $6::numeric)`,
        [ids.get('USD'), ids.get(quote), source, at, rate, change],
      );
      await db.query(
        `insert into fact_rates_current (base_currency_id, quote_currency_id, source_id, rate, rate_timestamp, previous_rate, change_pct)
         values ($1, $2, $3, $5::numeric, $4, 0.5, $6::numeric)
         on conflict (base_currency_id, quote_currency_id, source_id)
            do update set change_pct = excluded.change_pct, rate_timestamp = excluded.rate_timestamp`,
        [ids.get('USD'), ids.get(quote), source, at, rate, change],
      );
    }
    expect((await migrate(db)).applied).toContain('0021_change_pct_bounded');
  });
  afterAll(() => database.drop());

  it('makes a stored change_pct of 1e14 % or more null and keeps every other one', async () => {
    const history = await db.query<{ quote: string; change_pct: string | null }>(
      `select q.currency_code as quote, h.change_pct::text
         from fact_rates_history h join dim_currency q on q.currency_id = h.quote_currency_id
        order by q.currency_code, h.rate_timestamp`,
    );
    expect(history).toEqual([
      { quote: 'EUR', change_pct: '1.11111111' },
      { quote: 'EUR', change_pct: '99999999999999.99999999' },
      { quote: 'EUR', change_pct: null },
      { quote: 'VES', change_pct: null },
      { quote: 'XAF', change_pct: null },
    ]);
    const current = await db.query<{ quote: string; change_pct: string | null }>(
      `select q.currency_code as quote, c.change_pct::text
         from fact_rates_current c join dim_currency q on q.currency_id = c.quote_currency_id order by 1`,
    );
    expect(current).toEqual([
      { quote: 'EUR', change_pct: null },
      { quote: 'VES', change_pct: null },
      { quote: 'XAF', change_pct: null },
    ]);
  });

  it('refuses a change_pct of 1e14 % or more from any writer, in every partition', async () => {
    for (const table of ['fact_rates_history', 'fact_rates_history_y2024m01', 'fact_rates_current']) {
      await expect(db.query(`update ${table} set change_pct = 1e14`)).rejects.toMatchObject({ code: '23514' });
    }
    // A partition made after the migration has the constraint too.
    await ensurePartitions(db, '2024-02-01', '2024-02-29');
    const insert = (change: string) =>
      db.query(
        `insert into fact_rates_history
         (date_key, base_currency_id, quote_currency_id, source_id, rate_timestamp, rate, previous_rate, change_pct)
       select 20240215, base_currency_id, quote_currency_id, source_id, '2024-02-15T00:00:00Z', 1, 0.5, $1::numeric
         from fact_rates_history limit 1`,
        [change],
      );
    await expect(insert('-100000000000000')).rejects.toMatchObject({ code: '23514', table: 'fact_rates_history_y2024m02' });
    await expect(insert('100')).resolves.toEqual([]);
  });

  it('fx_change_pct (SQL) answers as storedChangePct (TypeScript) and as the exact oracle, bound and ties included', async () => {
    const rows = await db.query<{ pct: string | null }>(
      'select fx_change_pct(f, t)::text as pct from unnest($1::numeric[], $2::numeric[]) with ordinality as x(f, t, i) order by i',
      [CHANGE_PCT_CASES.map(([from]) => from), CHANGE_PCT_CASES.map(([, to]) => to)],
    );
    const expected = CHANGE_PCT_CASES.map(([from, to]) => changePctOracle(from, to));
    expect(rows.map((row) => row.pct)).toEqual(expected);
    expect(CHANGE_PCT_CASES.map(([from, to]) => storedChangePct(from, to))).toEqual(expected);
    expect(await db.query('select fx_change_pct(null, 1) as pct')).toEqual([{ pct: null }]);
  });
});
