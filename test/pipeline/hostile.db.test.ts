import { afterEach, describe, expect, it } from 'vitest';
import { faults } from '../../src/demo/provider-server.js';
import { freshnessOf } from '../../src/warehouse/freshness.js';
import { count, harness, type Harness } from '../helpers/pipeline.js';
import { matcher } from '../helpers/matcher.js';

/** What a provider answers now, edited into a hostile variant. */
async function published(h: Harness, source: 'open-er-api' | 'ecb'): Promise<string> {
  const path = source === 'open-er-api' ? '/v6/latest/USD' : '/eurofxref-daily.xml';
  return (await fetch(`${h.server.baseUrls[source]}${path}`)).text();
}

const unix = (iso: string) => Math.floor(new Date(iso).getTime() / 1000);

async function partitions(h: Harness): Promise<string[]> {
  const rows = await h.db.query<{ name: string }>(
    `select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = 'fact_rates_history'::regclass order by 1`,
  );
  return rows.map((r) => r.name);
}

async function newestCurrent(h: Harness): Promise<string | null> {
  const [row] = await h.db.query<{ ts: Date | null }>('select max(rate_timestamp) as ts from fact_rates_current');
  return row?.ts?.toISOString() ?? null;
}

describe('a provider cannot stop loading or corrupt it', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  it.each([
    ['2100-01-01T00:00:00Z', /later than the time it was received/],
    ['9999-12-31T00:00:00Z', /later than the time it was received/],
    ['1970-01-02T00:00:00Z', /before 1999-01-04/],
  ])('an as-of of %s fails that source only: the next source serves, and later runs load normally', async (asOf, reason) => {
    h = await harness();
    const payload = JSON.parse(await published(h, 'open-er-api')) as Record<string, unknown>;
    const hostile = JSON.stringify({ ...payload, time_last_update_unix: unix(asOf), time_last_update_utc: new Date(asOf).toUTCString() });
    h.server.injectFault('open-er-api', faults.body(hostile));
    const result = await h.run();
    expect(result).toMatchObject({ status: 'loaded', sourceUsed: 'frankfurter', failover: true });
    expect(result.sources[0]).toMatchObject({ source: 'open-er-api', status: 'failed' });
    expect(result.sources[0]!.error).toMatch(reason);
    // Nothing of it was loaded; no partition for its month; its raw response is kept.
    expect((await partitions(h)).filter((p) => p.includes(asOf.slice(0, 4)))).toEqual([]);
    expect(await newestCurrent(h)).toBe(result.asOf);
    expect(
      await count(h.db, `select * from bronze_extraction where source_name = 'open-er-api' and raw_json->>'time_last_update_unix' = $1`, [
        String(unix(asOf)),
      ]),
    ).toBe(1);

    h.clock.advanceHours(24);
    const next = await h.run();
    expect(next).toMatchObject({ status: 'loaded', sourceUsed: 'open-er-api', failover: false });
    expect(await newestCurrent(h)).toBe(next.asOf);
  });

  it('an ECB payload dated 2100 fails over like any other bad as-of', async () => {
    h = await harness('2024-01-09T18:00:00Z', ['ecb', 'frankfurter']);
    const xml = (await published(h, 'ecb')).replace(/<Cube time=['"][0-9-]+['"]>/, "<Cube time='2100-01-01'>");
    expect(xml).toContain("time='2100-01-01'");
    h.server.injectFault('ecb', faults.body(xml, 'text/xml'));
    const result = await h.run();
    expect(result).toMatchObject({ status: 'loaded', sourceUsed: 'frankfurter', failover: true });
    expect(result.sources[0]!.error).toMatch(/^ecb: as-of 2100-01-01T.* is later than/);
    expect((await partitions(h)).some((p) => p.includes('2100'))).toBe(false);
  });

  it('a reference ECB payload without its EUR→USD rate is a finding about the reference; the run loads the primary and keeps the response', async () => {
    h = await harness('2024-01-09T18:00:00Z', ['open-er-api', 'ecb']);
    const xml = (await published(h, 'ecb')).replace(/<Cube currency=['"]USD['"] rate=['"][0-9.]+['"]\/>/, '');
    expect(xml).not.toMatch(/currency=['"]USD['"]/);
    h.server.injectFault('ecb', faults.body(xml, 'text/xml'));
    const result = await h.run();
    expect(result).toMatchObject({ status: 'loaded', sourceUsed: 'open-er-api', failover: false });
    expect(result.sources[1]).toMatchObject({ source: 'ecb', role: 'reference', status: 'failed' });
    expect(result.sources[1]!.error).toMatch(/no valid EUR→USD rate/);
    expect(await count(h.db, `select * from bronze_extraction where source_name = 'ecb' and raw_text like '%Cube%'`)).toBe(1);
  });

  it('the same ECB payload as the primary fails over to the next source', async () => {
    h = await harness('2024-01-09T18:00:00Z', ['ecb', 'frankfurter']);
    const xml = (await published(h, 'ecb')).replace(/<Cube currency=['"]USD['"] rate=['"][0-9.]+['"]\/>/, '');
    h.server.injectFault('ecb', faults.body(xml, 'text/xml'));
    const result = await h.run();
    expect(result).toMatchObject({ status: 'loaded', sourceUsed: 'frankfurter', failover: true });
  });

  it('rates no tier can store exactly (1.2e29, 35 decimals) are rejected as out_of_range; the rest loads', async () => {
    h = await harness();
    const good = await published(h, 'open-er-api');
    const bad = good.replace('"rates":{', '"rates":{"QQA":1.2e29,"QQB":0.12345678901234567890123456789012345,"QQC":123456789012345,');
    h.server.injectFault('open-er-api', faults.body(bad));
    const result = await h.run({ verify: false });
    expect(result.status).toBe('loaded');
    const rejects = await h.db.query<{ quote_code: string; reason: string; raw_value: string }>(
      `select quote_code, reason, raw_value from rejected_rates order by quote_code`,
    );
    expect(rejects).toEqual([
      { quote_code: 'QQA', reason: 'out_of_range', raw_value: '1.2e29' },
      { quote_code: 'QQB', reason: 'out_of_range', raw_value: '0.12345678901234567890123456789012345' },
      { quote_code: 'QQC', reason: 'out_of_range', raw_value: '123456789012345' },
    ]);
    expect(await count(h.db, `select * from dim_currency where currency_code like 'QQ%'`)).toBe(0);
    // The largest and longest values that remain still fit DECIMAL(38,24).
    const [widest] = await h.db.query<{ int_digits: number; scale: number }>(
      `select max(length(trunc(rate)::text)) as int_digits, max(scale(rate)) as scale from fact_rates_history`,
    );
    expect(widest!.int_digits).toBeLessThanOrEqual(14);
    expect(widest!.scale).toBeLessThanOrEqual(24);
  });

  it('a database failure while storing a response fails the run with the database message, and no provider is called after it', async () => {
    h = await harness();
    await h.db.query(`create function test_disk_full() returns trigger language plpgsql as $$
      begin raise exception using errcode = '53100', message = 'could not extend file "base/16384/16390": No space left on device'; end $$`);
    await h.db.query('create trigger test_disk_full before insert on bronze_extraction for each row execute function test_disk_full()');
    await expect(h.run()).rejects.toThrow(/failed: database error: could not extend file .*No space left on device/);
    expect(h.server.requests.map((r) => r.source)).toEqual(['open-er-api']);
    const runs = await h.db.query<{ status: string; error: string }>('select status, error from pipeline_runs');
    expect(runs).toEqual([{ status: 'failed', error: matcher.stringMatching(/^database error: could not extend file/) }]);
  });

  it('a database failure during the load is not blamed on the source: the run fails, the next source is not tried', async () => {
    h = await harness();
    await h.db.query(`create function test_disk_full() returns trigger language plpgsql as $$
      begin raise exception using errcode = '53100', message = 'could not extend file: No space left on device'; end $$`);
    await h.db.query(
      'create trigger test_disk_full before insert on fact_rates_history for each statement execute function test_disk_full()',
    );
    await expect(h.run({ verify: false })).rejects.toThrow(/database error: could not extend file: No space left on device/);
    expect(h.server.requests.map((r) => r.source)).toEqual(['open-er-api']);
    // The response received before the failure is kept.
    expect(await count(h.db, `select * from bronze_extraction where source_name = 'open-er-api'`)).toBe(1);
    expect(await count(h.db, 'select * from fact_rates_current')).toBe(0);
  });

  it('values the warehouse refuses (a data error at load) fail that source; the next source serves in the same run', async () => {
    h = await harness();
    await h.db.query(`create function test_refuse() returns trigger language plpgsql as $$
      begin
        if new.source_id = (select source_id from dim_source where source_name = 'open-er-api') then
          raise exception using errcode = '22003', message = 'numeric field overflow';
        end if;
        return new;
      end $$`);
    await h.db.query('create trigger test_refuse before insert on fact_rates_current for each row execute function test_refuse()');
    const result = await h.run();
    expect(result).toMatchObject({ status: 'loaded', sourceUsed: 'frankfurter', failover: true });
    expect(result.sources[0]).toMatchObject({ source: 'open-er-api', status: 'failed' });
    expect(result.sources[0]!.error).toBe('open-er-api: the warehouse refused its values: numeric field overflow');
    expect(
      await count(h.db, `select * from fact_rates_current f join dim_source s using (source_id) where s.source_name = 'open-er-api'`),
    ).toBe(0);
    expect(
      await count(h.db, `select * from fact_rates_current f join dim_source s using (source_id) where s.source_name = 'frankfurter'`),
    ).toBeGreaterThan(25);
    expect(await count(h.db, `select * from pipeline_runs where status = 'loaded'`)).toBe(1);
  });
});

describe('freshness', () => {
  it('never calls an as-of in the future ok', () => {
    const now = new Date('2026-01-10T12:00:00Z');
    expect(freshnessOf('open-er-api', new Date('2100-01-01T00:00:00Z'), now).state).toBe('future');
    expect(freshnessOf('frankfurter', new Date('2100-01-01T00:00:00Z'), now).state).toBe('future');
    expect(freshnessOf('open-er-api', new Date('2026-01-10T12:05:00Z'), now).state).toBe('ok');
  });
});
