import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RateDecimal } from '../../src/transform/decimal.js';
import { harness, type Harness } from '../helpers/pipeline.js';

/** The api schema as a reader sees it, on a warehouse loaded by real runs over several days. */
describe('the api schema', () => {
  let h: Harness;
  const runTimes: Date[] = [];
  beforeAll(async () => {
    h = await harness('2024-01-09T12:00:00Z');
    for (let day = 0; day < 4; day++) {
      runTimes.push(h.clock.now());
      await h.run({ changeThresholdPct: 0 });
      h.clock.advanceHours(24);
    }
  });
  afterAll(async () => h.close());

  const usdRate = async (quote: string) => {
    const [row] = await h.db.query<{ rate: string }>(
      `select rate::text from api.latest_rates where base = 'USD' and quote = $1 and preferred`,
      [quote],
    );
    return new RateDecimal(row!.rate);
  };

  it('api.convert uses the latest USD rates: amount × rate(USD→to) / rate(USD→from)', async () => {
    const [row] = await h.db.query<{ from_amount: string; rate: string; converted: string; from_source: string; as_of: Date }>(
      `select from_amount::text, rate::text, converted::text, from_source, as_of from api.convert(100, 'EUR', 'JPY')`,
    );
    const expected = (await usdRate('JPY')).div(await usdRate('EUR'));
    expect(new RateDecimal(row!.rate).minus(expected).abs().lte(expected.times(1e-15))).toBe(true);
    expect(new RateDecimal(row!.converted).minus(expected.times(100)).abs().lte(expected.times(1e-13))).toBe(true);
    expect(row!.from_source).toBe('open-er-api');
    expect(row!.as_of.toISOString()).toBe('2024-01-12T00:02:31.000Z');
    const [usd] = await h.db.query<{ rate: string; converted: string }>(
      `select rate::text, converted::text from api.convert(2.5, 'usd', 'USD')`,
    );
    expect(usd).toEqual({ rate: '1', converted: '2.5' });
  });

  it('api.convert with `at` uses the rates in force then (the last stored before it)', async () => {
    const at = new Date('2024-01-10T20:00:00Z'); // after the 2024-01-10 publication, before 2024-01-11's
    const [row] = await h.db.query<{ rate: string; as_of: Date }>(`select rate::text, as_of from api.convert(1, 'EUR', 'GBP', $1)`, [at]);
    const inForce = async (quote: string) => {
      const [r] = await h.db.query<{ rate: string }>(
        `select rate::text from api.rate_changes where base = 'USD' and quote = $1 and source = 'open-er-api' and as_of <= $2
          order by as_of desc limit 1`,
        [quote, at],
      );
      return new RateDecimal(r!.rate);
    };
    expect(
      new RateDecimal(row!.rate).toSignificantDigits(15).eq((await inForce('GBP')).div(await inForce('EUR')).toSignificantDigits(15)),
    ).toBe(true);
    expect(row!.as_of.toISOString()).toBe('2024-01-10T00:02:31.000Z');
    await expect(h.db.query(`select * from api.convert(1, 'EUR', 'GBP', '2001-01-01')`)).rejects.toThrow(
      /no rate for EUR at or before 2001/,
    );
  });

  it('an unknown currency raises a clear error naming it (SQLSTATE 22023), also for injection attempts', async () => {
    for (const code of ['XXX', "EUR'; drop table dim_currency; --", 'EURO', '']) {
      const error = await h.db.query(`select * from api.convert(1, $1, 'USD')`, [code]).catch((e: { code: string; message: string }) => e);
      expect(error).toMatchObject({ code: '22023' });
      expect((error as { message: string }).message).toBe(`unknown currency: ${code.toUpperCase().trim()}`);
    }
    const [tables] = await h.db.query<{ n: number }>(`select count(*)::int as n from dim_currency`);
    expect(tables!.n).toBeGreaterThan(150);
  });

  it('api.cross_rates covers every pair, USD included, consistent with the USD rates', async () => {
    const [n] = await h.db.query<{ currencies: number; pairs: number }>(
      `select (select count(distinct quote)::int + 1 from api.latest_rates where base = 'USD') as currencies,
              (select count(*)::int from api.cross_rates) as pairs`,
    );
    expect(n!.pairs).toBe(n!.currencies ** 2);
    const [eurJpy] = await h.db.query<{ rate: string }>(
      `select rate::text from api.cross_rates where from_currency = 'EUR' and to_currency = 'JPY'`,
    );
    const [converted] = await h.db.query<{ rate: string }>(`select rate::text from api.convert(1, 'EUR', 'JPY')`);
    expect(eurJpy!.rate).toBe(converted!.rate);
    const [self] = await h.db.query<{ rate: string }>(
      `select rate::text from api.cross_rates where from_currency = 'GBP' and to_currency = 'GBP'`,
    );
    expect(Number(self!.rate)).toBe(1);
  });

  it('prefers the primary source, and a source that has the quote when the primary does not', async () => {
    const preferred = await h.db.query<{ quote: string; source: string }>(
      `select quote, source from api.latest_rates where base = 'USD' and preferred and quote in ('EUR', 'AED') order by quote`,
    );
    expect(preferred).toEqual([
      { quote: 'AED', source: 'open-er-api' },
      { quote: 'EUR', source: 'open-er-api' },
    ]);
    await h.db.query(`update dim_source set rank = case source_name when 'frankfurter' then 'primary' else 'fallback' end`);
    const swapped = await h.db.query<{ quote: string; source: string }>(
      `select quote, source from api.latest_rates where base = 'USD' and preferred and quote in ('EUR', 'AED') order by quote`,
    );
    expect(swapped).toEqual([
      { quote: 'AED', source: 'open-er-api' },
      { quote: 'EUR', source: 'frankfurter' },
    ]);
    await h.db.query(`update dim_source set rank = case source_name when 'open-er-api' then 'primary' else 'fallback' end`);
  });

  it('the change feed id strictly increases in load order, so a poller sees each change exactly once', async () => {
    const [{ last } = { last: '0' }] = await h.db.query<{ last: string }>(
      `select coalesce(max(change_id), 0)::text as last from api.rate_changes`,
    );
    const all = await h.db.query<{ change_id: string; loaded_at: Date }>(
      `select change_id::text, loaded_at from api.rate_changes order by change_id`,
    );
    expect(new Set(all.map((r) => r.change_id)).size).toBe(all.length);
    h.clock.advanceHours(24);
    const result = await h.run({ changeThresholdPct: 0 });
    const fresh = await h.db.query<{ change_id: string }>(
      `select change_id::text from api.rate_changes where change_id > $1 order by change_id`,
      [last],
    );
    expect(fresh.length).toBe(result.counts.loaded);
    expect(fresh.every((r) => BigInt(r.change_id) > BigInt(last))).toBe(true);
    const again = await h.db.query(`select 1 from api.rate_changes where change_id > $1`, [fresh[fresh.length - 1]!.change_id]);
    expect(again).toEqual([]);
  });

  it('daily and monthly aggregates and the source comparison answer with their documented columns', async () => {
    const [daily] = await h.db.query(
      `select * from api.daily_rates where base = 'USD' and quote = 'EUR' and source = 'open-er-api' order by date desc limit 1`,
    );
    expect(Object.keys(daily!)).toEqual([
      'date',
      'date_key',
      'base',
      'quote',
      'source',
      'open',
      'high',
      'low',
      'close',
      'average',
      'stddev',
      'observations',
      'carried',
    ]);
    const [monthly] = await h.db.query(`select * from api.monthly_rates where base = 'USD' and quote = 'EUR' limit 1`);
    expect(Object.keys(monthly!)).toEqual([
      'month',
      'month_key',
      'base',
      'quote',
      'source',
      'open',
      'high',
      'low',
      'close',
      'average',
      'stddev',
      'observations',
      'volatility_pct',
      'publishing_days',
      'days_in_force',
    ]);
    const comparison = await h.db.query<{ source: string }>(
      `select * from api.source_comparison where base = 'USD' and quote = 'EUR' order by source`,
    );
    expect(comparison.map((c) => c.source)).toEqual(['frankfurter', 'open-er-api']);
  });
});
