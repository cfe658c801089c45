import { afterAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/warehouse/db.js';
import { initWarehouse } from '../../src/warehouse/init.js';
import { runCli } from '../helpers/cli.js';
import { type BackfillJson } from '../helpers/cli-json.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { count } from '../helpers/pipeline.js';
import { exactRepeats, FIXTURE_CSV, fixtureText, historyContents, readEcbFile } from './support.js';

describe('backfill change threshold', () => {
  const databases: TestDatabase[] = [];
  afterAll(async () => {
    await Promise.all(databases.map((d) => d.drop()));
  });

  async function fresh(): Promise<{ db: Db; backfill: (args: string[], env?: Record<string, string>) => ReturnType<typeof runCli> }> {
    const database = await createTestDatabase();
    databases.push(database);
    const db = await database.open();
    await initWarehouse(db);
    return {
      db,
      backfill: (args, env = {}) =>
        runCli(['backfill', '--source', 'ecb-csv', '--file', FIXTURE_CSV, '--json', ...args], {
          env: { DATABASE_URL: database.url, ...env },
        }),
    };
  }

  /** Which (date, code) a 0.5 % threshold keeps, walking the file's days oldest first: USD→X = EUR→X / EUR→USD. */
  function expectedKept(thresholdPct: number): string[] {
    const lastKept = new Map<string, number>();
    const kept: string[] = [];
    for (const { date, values } of [...readEcbFile(fixtureText()).days].reverse()) {
      const eurUsd = Number(values.get('USD'));
      for (const [code, value] of values) {
        const quote = code === 'USD' ? 'EUR' : code;
        const rate = code === 'USD' ? 1 / eurUsd : Number(value) / eurUsd;
        const last = lastKept.get(quote);
        if (last === undefined || Math.abs(rate / last - 1) * 100 > thresholdPct) {
          lastKept.set(quote, rate);
          kept.push(`${date.replaceAll('-', '')} ${quote}`);
        }
      }
    }
    return kept.sort();
  }

  const storedKeys = async (db: Db) =>
    (
      await db.query<{ key: string }>(
        `select h.date_key || ' ' || q.currency_code as key from fact_rates_history h join dim_currency q on q.currency_id = h.quote_currency_id`,
      )
    )
      .map((r) => r.key)
      .sort();

  it("keeps an observation only when it moved beyond the threshold from the pair's previous kept rate", async () => {
    const { db, backfill } = await fresh();
    const result = await backfill(['--from', '2024-01-01', '--to', '2024-12-31', '--change-threshold', '0.5']);
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout) as BackfillJson;
    const expected = expectedKept(0.5);
    expect(expected.length).toBeLessThan(7680 / 2);
    expect(await storedKeys(db)).toEqual(expected);
    expect(json.counts).toMatchObject({ read: 7680, loaded: expected.length, unchanged: 7680 - expected.length });
    // Each stored row's previous_rate is the pair's stored row before it, and the move from it is beyond 0.5 %.
    expect(
      await count(
        db,
        `select * from (
        select rate, previous_rate, change_pct, lag(rate) over (partition by quote_currency_id order by date_key) as stored_before
          from fact_rates_history) t
       where previous_rate is distinct from stored_before or (previous_rate is not null and abs(change_pct) <= 0.5)
          or change_pct <> round((rate - previous_rate) / previous_rate * 100, 8)`,
      ),
    ).toBe(0);
  });

  it("starts from the pair's last stored rate before the chunk: two halves end as one whole", async () => {
    const whole = await fresh();
    await whole.backfill(['--from', '2024-01-01', '--to', '2024-12-31', '--change-threshold', '0.5']);
    const halves = await fresh();
    expect((await halves.backfill(['--from', '2024-01-01', '--to', '2024-06-30', '--change-threshold', '0.5'])).code).toBe(0);
    const second = await halves.backfill(['--from', '2024-07-01', '--to', '2024-12-31', '--change-threshold', '0.5']);
    expect((JSON.parse(second.stdout) as BackfillJson).chunks).toMatchObject([{ from: '2024-07-01', to: '2024-12-31', status: 'loaded' }]);
    expect(await historyContents(halves.db, 'ecb')).toEqual(await historyContents(whole.db, 'ecb'));
  });

  it('defaults to FXPIPE_CHANGE_THRESHOLD_PCT; --change-threshold overrides it; 0 keeps every value that differs from the last kept one', async () => {
    const { db, backfill } = await fresh();
    const byConfig = await backfill(['--from', '2024-01-01', '--to', '2024-12-31'], { FXPIPE_CHANGE_THRESHOLD_PCT: '1' });
    expect(JSON.parse(byConfig.stdout)).toMatchObject({ changeThresholdPct: 1, counts: { loaded: expectedKept(1).length } });
    // Another threshold is another load of the same input: it adds what the lower threshold keeps beyond the stored rows.
    const all = await backfill(['--from', '2024-01-01', '--to', '2024-12-31', '--change-threshold', '0'], {
      FXPIPE_CHANGE_THRESHOLD_PCT: '1',
    });
    const [atOne, atZero] = [expectedKept(1), expectedKept(0)];
    expect(atZero.length).toBe(7680 - exactRepeats(readEcbFile(fixtureText())).size);
    const union = new Set([...atZero, ...atOne]);
    expect(JSON.parse(all.stdout)).toMatchObject({ changeThresholdPct: 0, counts: { chunksLoaded: 1, loaded: union.size - atOne.length } });
    expect(await count(db, 'select * from fact_rates_history')).toBe(union.size);
    expect(await count(db, 'select * from backfill_chunks')).toBe(2);
  });
});
