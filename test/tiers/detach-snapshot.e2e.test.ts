import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { divide, numericText, parseNumeric, trimScale } from '../../src/transform/pg-numeric.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scratchDir } from '../helpers/database.js';
import { loadedWarehouse, type Warehouse } from './support.js';

/**
 * A reader's statement takes its snapshot when it starts, and its lock on the history only when api.convert reaches
 * it. When an archive's detach commits in between (the reader waited for its lock), the reader sees the month's
 * history rows gone while the manifest, in its snapshot, does not say archived yet. What it answers must still be the
 * rate in force, or a refusal naming the archive — never another value (the day's open, as it once did).
 */
describe('a reader whose snapshot predates an archive it waited for', () => {
  const dir = scratchDir('fxpipe-detach-snapshot-');
  let w: Warehouse;

  beforeAll(async () => {
    w = await loadedWarehouse(dir);
  }, 300_000);

  afterAll(async () => {
    await w?.database.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const convertSql = `select rate::text as rate, converted::text as converted, as_of from api.convert(250, 'GBP', 'USD', '2023-07-03T15:00:00Z')`;

  it('answers api.convert with the rate in force (or refuses it as archived), not the day it opened with', async () => {
    // A second publication that day, at 16:00, with another GBP value: the value in force at 15:00 (the 14:15
    // publication's) is then neither the day's open nor its close, and only the history holds it — the read that an
    // archive's lock holds up. (A value that is its day's close is read from rates_daily, which no archive detaches.)
    await w.db.query(
      `insert into source_publications (source_id, base_currency_id, as_of, quote_ids)
       select p.source_id, p.base_currency_id, '2023-07-03T16:00:00Z', p.quote_ids from source_publications p
        where p.source_id = (select source_id from dim_source where source_name = 'ecb')
          and p.as_of = (select max(x.as_of) from source_publications x where x.source_id = p.source_id and x.as_of <= '2023-07-03T15:00:00Z')`,
    );
    await w.db.query(
      `insert into fact_rates_history (date_key, base_currency_id, quote_currency_id, source_id, rate_timestamp, rate, previous_rate)
       select h.date_key, h.base_currency_id, h.quote_currency_id, h.source_id, '2023-07-03T16:00:00Z', h.rate * 1.01, h.rate
         from fact_rates_history h
        where h.source_id = (select source_id from dim_source where source_name = 'ecb') and h.date_key = 20230703
          and h.quote_currency_id = (select currency_id from dim_currency where currency_code = 'GBP')`,
    );
    await w.db.query(
      `select fx_rebuild_days((select source_id from dim_source where source_name = 'ecb'),
                              (select currency_id from dim_currency where currency_code = 'USD'), '2023-07-03', '2023-07-03')`,
    );
    const [expected] = await w.db.query(convertSql);
    const [history] = await w.db.query<{ rate: string }>(
      `select h.rate::text as rate from fact_rates_history h
        where h.source_id = (select source_id from dim_source where source_name = 'ecb') and h.date_key = 20230703
          and h.quote_currency_id = (select currency_id from dim_currency where currency_code = 'GBP') and h.rate_timestamp < '2023-07-03T15:00:00Z'`,
    );
    // The value in force is the 14:15 history row's (USD→GBP), inverted for GBP→USD.
    expect((expected as { rate: string }).rate).toBe(numericText(trimScale(divide(parseNumeric('1'), parseNumeric(history!.rate)))));
    // The day's open and close differ: answering the open would be a different answer.
    const [day] = await w.db.query<{ open: string; close: string }>(
      `select d.open::text as open, d.close::text as close from api.daily_rates d
        where d.base = 'USD' and d.quote = 'GBP' and d.source = 'ecb' and d.date = '2023-07-03'`,
    );
    expect(day!.open).not.toBe(day!.close);

    const archiver = new pg.Client({ connectionString: w.database.url });
    const reader = new pg.Client({ connectionString: w.database.url });
    await archiver.connect();
    await reader.connect();
    try {
      const pid = (await reader.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
      const archiverPid = (await archiver.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
      // What an archive's detach transaction does (detach.ts), holding its lock until it commits.
      await archiver.query('begin');
      await archiver.query('lock table fact_rates_history in access exclusive mode');
      await archiver.query(
        `insert into archive_manifest (month, partition_name, uri, rows, bytes, rate_sum, checksum, state, archived_at)
         values ('2023-07-01', 'fact_rates_history_y2023m07', 'file:///archive/2023-07.parquet', 0, 0, 0, 'test', 'archived', now())`,
      );
      await archiver.query('alter table fact_rates_history detach partition fact_rates_history_y2023m07');

      const answer = reader.query(convertSql).then(
        (result) => ({ rows: result.rows as unknown[], error: null }),
        (error: unknown) => ({ rows: [], error: error as { code?: string; message: string } }),
      );
      for (let i = 0; ; i++) {
        const [{ waiting }] = (await w.db.query<{ waiting: boolean }>('select $1 = any (pg_blocking_pids($2)) as waiting', [
          archiverPid,
          pid,
        ])) as [{ waiting: boolean }];
        if (waiting) break;
        if (i > 1000) throw new Error('the reader never waited for the archive');
        await sleep(10);
      }
      await archiver.query('commit');

      const { rows, error } = await answer;
      if (error) {
        expect(error.code).toBe('P0002');
        expect(error.message).toMatch(/is in the archive/);
      } else {
        expect(rows).toEqual([expected]);
      }
    } finally {
      await archiver.end();
      await reader.end();
    }
  }, 120_000);
});
