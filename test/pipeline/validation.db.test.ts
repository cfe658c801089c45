import { afterEach, describe, expect, it } from 'vitest';
import { faults } from '../../src/demo/provider-server.js';
import { SourceBreakers } from '../../src/sources/breaker.js';
import { count, harness, type Harness } from '../helpers/pipeline.js';

async function payload(h: Harness, source: 'open-er-api' | 'frankfurter'): Promise<string> {
  const path = source === 'open-er-api' ? '/v6/latest/USD' : '/v1/latest?base=USD';
  return (await fetch(`${h.server.baseUrls[source]}${path}`)).text();
}

describe('validation', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  it('quarantines every hard-reject reason with the bronze row, and loads the rest', async () => {
    h = await harness();
    const good = await payload(h, 'open-er-api');
    const bad = good.replace(
      '"rates":{',
      '"rates":{"AAA":"abc","BBB":1e999,"CCC":0,"DDD":-1.5,"usd":1.2,"EU":1,"XYZ":1.1,"XYZ":1.2,"EEE":null,',
    );
    h.server.injectFault('open-er-api', faults.body(bad, 'application/json'));
    const result = await h.run({ verify: false });
    expect(result.status).toBe('loaded');
    const rejects = await h.db.query<{ quote_code: string; reason: string; raw_value: string | null; linked: boolean }>(
      `select quote_code, reason, raw_value, extraction_id is not null as linked from rejected_rates order by quote_code, raw_value`,
    );
    expect(rejects.map((r) => [r.quote_code, r.reason, r.raw_value])).toEqual([
      ['AAA', 'not_a_number', '"abc"'],
      ['BBB', 'not_finite', '1e999'],
      ['CCC', 'non_positive', '0'],
      ['DDD', 'non_positive', '-1.5'],
      ['EEE', 'not_a_number', 'null'],
      ['EU', 'bad_code', '1'],
      ['XYZ', 'duplicate_code', '1.1'],
      ['XYZ', 'duplicate_code', '1.2'],
      ['usd', 'bad_code', '1.2'],
    ]);
    expect(rejects.every((r) => r.linked)).toBe(true);
    expect(result.counts.rejected).toBe(9);
    expect(await count(h.db, `select * from dim_currency where currency_code in ('AAA','BBB','CCC','DDD','EEE','XYZ')`)).toBe(0);
    expect(await count(h.db, `select * from fact_rates_current`)).toBeGreaterThan(150);
  });

  it('a payload in the wrong base is rejected whole and the next source serves', async () => {
    h = await harness();
    const good = await payload(h, 'open-er-api');
    h.server.injectFault('open-er-api', faults.body(good.replace('"base_code":"USD"', '"base_code":"EUR"'), 'application/json'));
    const result = await h.run();
    expect(result).toMatchObject({ sourceUsed: 'frankfurter', failover: true });
    expect(result.sources[0]!.error).toMatch(/open-er-api: no valid rates/);
    expect(await count(h.db, `select * from rejected_rates where reason = 'base_mismatch'`)).toBeGreaterThan(150);
    expect(
      await count(h.db, `select * from fact_rates_current f join dim_source s using (source_id) where s.source_name = 'open-er-api'`),
    ).toBe(0);
  });

  it('a payload that is not the provider format fails that source with a message naming it; nothing reaches the facts', async () => {
    h = await harness();
    for (const [fault, message] of [
      [faults.body('<!doctype html><html><body>Service temporarily unavailable</body></html>', 'text/html'), /open-er-api: .*not JSON/i],
      [faults.body((await payload(h, 'open-er-api')).slice(0, 300)), /open-er-api: .*truncated JSON at byte 300/i],
      [faults.truncated(300), /open-er-api: .*(closed|terminated|socket)/i],
      [faults.body('{"result":"success","rates":[1,2,3]}', 'application/json'), /open-er-api: .*(rates|base_code|time_last_update_unix)/],
    ] as const) {
      h.server.clearFaults();
      h.server.injectFault('open-er-api', fault, Infinity);
      h.server.injectFault('frankfurter', faults.outage(), Infinity);
      const result = await h.run({ breakers: new SourceBreakers() }); // the same source failing 4 times would open its circuit
      expect(result.status).toBe('failed');
      expect(result.sources[0]!.error).toMatch(message);
    }
    expect(await count(h.db, 'select * from fact_rates_current')).toBe(0);
    expect(await count(h.db, 'select * from fact_rates_history')).toBe(0);
  });

  it('flags a deviation from a reference source beyond the tolerance, on the facts and in vw_rates_comparison', async () => {
    h = await harness();
    const reference = await payload(h, 'frankfurter');
    const eur = /"EUR":([0-9.]+)/.exec(reference)![1]!;
    const skewed = (Number(eur) * 1.02).toFixed(5);
    h.server.injectFault('frankfurter', faults.body(reference.replace(`"EUR":${eur}`, `"EUR":${skewed}`), 'application/json'));
    const result = await h.run();
    expect(result.flags.referenceDeviations.map((d) => [d.quote, d.reference])).toEqual([['EUR', 'frankfurter']]);
    const pct = result.flags.referenceDeviations[0]!.deviationPct;
    expect(pct > -2.2 && pct < -1.7, String(pct)).toBe(true); // -2% skew on top of the sources' own small difference
    const [flags] = await h.db.query<{ flags: string[] }>(
      `select flags from vw_rates_latest where quote_code = 'EUR' and source_name = 'open-er-api'`,
    );
    expect(flags?.flags).toEqual(['reference_deviation']);
    const comparison = await h.db.query<{ source_name: string; deviation_pct: string }>(
      `select source_name, deviation_pct::text from vw_rates_comparison where base_code = 'USD' and quote_code = 'EUR' order by 1`,
    );
    expect(comparison.map((c) => c.source_name)).toEqual(['frankfurter', 'open-er-api']);
    expect(Number(comparison[0]!.deviation_pct)).toBeCloseTo(2, 0);
    expect(Number(comparison[1]!.deviation_pct)).toBe(0);
  });

  it('flags a move far outside the pair recent history (z-score), and still loads it', async () => {
    h = await harness();
    for (let day = 0; day < 14; day++) {
      await h.run({ verify: false, changeThresholdPct: 0 });
      h.clock.advanceHours(24);
    }
    const today = await payload(h, 'open-er-api');
    const jpy = /"JPY":([0-9.]+)/.exec(today)![1]!;
    h.server.injectFault(
      'open-er-api',
      faults.body(today.replace(`"JPY":${jpy}`, `"JPY":${(Number(jpy) * 1.08).toFixed(4)}`), 'application/json'),
    );
    const result = await h.run({ verify: false, changeThresholdPct: 0 });
    expect(result.flags.zscore.map((f) => f.quote)).toContain('JPY');
    expect(result.flags.zscore.length).toBeLessThan(5);
    const [row] = await h.db.query<{ flags: string[] }>(
      `select h.flags from fact_rates_history h join dim_currency q on q.currency_id = h.quote_currency_id
        where q.currency_code = 'JPY' order by h.rate_timestamp desc limit 1`,
    );
    expect(row?.flags).toContain('zscore');
  });
});
