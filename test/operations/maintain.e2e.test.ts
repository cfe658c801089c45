import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initWarehouse } from '../../src/warehouse/init.js';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import type { Db } from '../../src/warehouse/db.js';

describe('fxpipe db maintain', () => {
  let target: TestDatabase;
  let db: Db;
  beforeAll(async () => {
    target = await createTestDatabase();
    db = await target.open();
    await initWarehouse(db);
  });
  afterAll(async () => target.drop());

  it('reports rows the default partition caught and moves them into proper monthly partitions', async () => {
    await db.query(`insert into dim_currency (currency_code, currency_name) values ('USD', 'US Dollar'), ('EUR', 'Euro')`);
    await db.query(`insert into dim_source (source_name, rank, endpoint) values ('ecb', 'primary', 'http://127.0.0.1')`);
    await db.query(`insert into fact_rates_history (date_key, base_currency_id, quote_currency_id, source_id, rate_timestamp, rate)
                    values (20100315, 1, 2, 1, '2010-03-15T15:00:00Z', 0.7352), (20100316, 1, 2, 1, '2010-03-16T15:00:00Z', 0.7311),
                           (20111201, 1, 2, 1, '2011-12-01T15:00:00Z', 0.7420)`);
    const result = await runCli(['db', 'maintain', '--json'], { env: { DATABASE_URL: target.url } });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      upcomingCreated: [],
      foundInDefault: [
        { month: '2010-03', rows: 2 },
        { month: '2011-12', rows: 1 },
      ],
      createdForDefault: ['fact_rates_history_y2010m03', 'fact_rates_history_y2011m12'],
      movedRows: 3,
    });
    const [left] = await db.query<{ n: number }>('select count(*)::int as n from fact_rates_history_default');
    expect(left?.n).toBe(0);
    const again = await runCli(['db', 'maintain'], { env: { DATABASE_URL: target.url } });
    expect(again.stdout).toBe("This month's and the next 3 partitions exist.\nThe default partition is empty.\n");
  });
});
