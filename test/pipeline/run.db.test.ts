import { afterEach, describe, expect, it } from 'vitest';
import { faults } from '../../src/demo/provider-server.js';
import { count, harness, type Harness } from '../helpers/pipeline.js';
import { matcher } from '../helpers/matcher.js';

describe('a pipeline run', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  it('loads the primary and the reference, storing exactly the published values', async () => {
    h = await harness();
    const result = await h.run();
    expect(result).toMatchObject({ status: 'loaded', sourceUsed: 'open-er-api', failover: false, dryRun: false });
    expect(result.sources.map((s) => [s.source, s.role, s.status])).toEqual([
      ['open-er-api', 'primary', 'ok'],
      ['frankfurter', 'reference', 'ok'],
    ]);
    const published = await (await fetch(`${h.server.baseUrls['open-er-api']}/v6/latest/USD`)).text();
    const publishedRates = [...published.matchAll(/"([A-Z]{3})":([0-9.eE+-]+)/g)].filter(([, code]) => code !== 'USD');
    expect(publishedRates.length).toBeGreaterThan(150);
    const stored = new Map(
      (
        await h.db.query<{ code: string; rate: string }>(
          `select q.currency_code as code, f.rate::text as rate from fact_rates_current f
           join dim_currency q on q.currency_id = f.quote_currency_id join dim_source s using (source_id)
          where s.source_name = 'open-er-api'`,
        )
      ).map((r) => [r.code, r.rate]),
    );
    expect(stored.size).toBe(publishedRates.length);
    for (const [, code, text] of publishedRates) expect(stored.get(code!), code).toBe(text);
    expect(result.counts.loaded).toBe(await count(h.db, 'select * from fact_rates_history'));
    expect(await count(h.db, 'select * from bronze_extraction')).toBe(2);
    expect(await count(h.db, `select * from pipeline_runs where status = 'loaded'`)).toBe(1);
    const [ranks] = await h.db.query<{ ranks: string }>(
      `select string_agg(source_name || ':' || rank, ',' order by source_name) as ranks from dim_source`,
    );
    expect(ranks?.ranks).toBe('frankfurter:fallback,open-er-api:primary');
  });

  it('runs the same on the pooled access path (a pg.Pool)', async () => {
    h = await harness(undefined, undefined, 'pooled');
    expect(h.db.driver).toBe('pooled');
    const first = await h.run();
    expect(first).toMatchObject({ status: 'loaded', sourceUsed: 'open-er-api' });
    h.clock.advanceHours(1);
    expect((await h.run()).status).toBe('unchanged');
    expect(await count(h.db, 'select * from pipeline_runs')).toBe(2);
  });

  it('marks codes outside ISO 4217 as not ISO-recognised and loads them', async () => {
    h = await harness();
    await h.run();
    const rows = await h.db.query<{ currency_code: string; is_iso: boolean; currency_name: string; minor_units: number | null }>(
      `select currency_code, is_iso, currency_name, minor_units from dim_currency where currency_code in ('FOK', 'GGP', 'EUR', 'JPY') order by 1`,
    );
    expect(rows).toEqual([
      { currency_code: 'EUR', is_iso: true, currency_name: 'Euro', minor_units: 2 },
      expect.objectContaining({ currency_code: 'FOK', is_iso: false }),
      expect.objectContaining({ currency_code: 'GGP', is_iso: false }),
      { currency_code: 'JPY', is_iso: true, currency_name: 'Yen', minor_units: 0 },
    ]);
    expect(await count(h.db, `select * from vw_rates_latest where quote_code in ('FOK', 'GGP')`)).toBe(2);
  });

  it('creates the partition its as-of month needs; nothing lands in the default partition', async () => {
    h = await harness('2024-01-09T12:00:00Z');
    await h.run();
    expect(await count(h.db, `select * from pg_class where relname = 'fact_rates_history_y2024m01'`)).toBe(1);
    expect(await count(h.db, 'select * from fact_rates_history_default')).toBe(0);
    expect(await count(h.db, 'select * from fact_rates_history_y2024m01')).toBeGreaterThan(150);
  });

  it('a rerun on an as-of already loaded stores the bronze row, adds no history, and reports unchanged', async () => {
    h = await harness();
    await h.run();
    const historyBefore = await count(h.db, 'select * from fact_rates_history');
    h.clock.advanceHours(2); // 14:00: neither open-er-api (daily, 00:02 UTC) nor the ECB (16:00 CET) has published since
    const again = await h.run();
    expect(again.status).toBe('unchanged');
    expect(again.counts.loaded).toBe(0);
    expect(await count(h.db, 'select * from fact_rates_history')).toBe(historyBefore);
    expect(await count(h.db, 'select * from bronze_extraction')).toBe(4);
    expect(await count(h.db, `select * from pipeline_runs where status = 'unchanged'`)).toBe(1);
  });

  it('stores history only for moves beyond the change threshold; 0 stores every value that differs, never an exact repeat', async () => {
    h = await harness();
    await h.run();
    h.clock.advanceHours(24);
    const next = await h.run();
    expect(next.status).toBe('loaded');
    const pegged = await h.db.query<{ change_reason: string }>(
      `select change_reason from fact_rates_current f join dim_currency q on q.currency_id = f.quote_currency_id
        join dim_source s using (source_id) where q.currency_code = 'AED' and s.source_name = 'open-er-api'`,
    );
    expect(pegged[0]?.change_reason).toBe('unchanged'); // pegged to USD: an exact repeat
    const primary = next.sources[0]!;
    expect(primary.loaded + primary.unchanged).toBe(primary.extracted - 1); // USD/USD is not stored
    expect(primary.unchanged).toBeGreaterThan(0);
    // Every stored move exceeds the threshold.
    expect(await count(h.db, `select * from fact_rates_history where change_pct is not null and abs(change_pct) <= 0.01`)).toBe(0);

    h.clock.advanceHours(24);
    const all = await h.run({ changeThresholdPct: 0 });
    // The oracle, from the provider's three payloads: a pair's last stored value is the second payload's when it
    // moved more than 0.01 % from the first, else the first's; the third stores every value that differs from it.
    const payloads = (
      await h.db.query<{ rates: Record<string, number> }>(
        `select raw_json->'rates' as rates from bronze_extraction where source_name = 'open-er-api' order by extracted_at`,
      )
    ).map((p) => p.rates);
    expect(payloads).toHaveLength(3);
    const [first, second, third] = payloads as [Record<string, number>, Record<string, number>, Record<string, number>];
    const codes = Object.keys(third).filter((code) => code !== 'USD');
    const lastStored = (code: string) => (Math.abs(second[code]! / first[code]! - 1) * 100 > 0.01 ? second[code] : first[code]);
    const differing = codes.filter((code) => third[code] !== lastStored(code));
    expect(differing.length).toBeLessThan(codes.length); // the pegged ones repeat
    expect(all.sources[0]).toMatchObject({ loaded: differing.length, unchanged: codes.length - differing.length });
  });

  it('fails over to the next source when the primary is down, and says so', async () => {
    h = await harness();
    h.server.injectFault('open-er-api', faults.outage(), Infinity);
    const result = await h.run();
    expect(result).toMatchObject({ status: 'loaded', sourceUsed: 'frankfurter', failover: true });
    expect(result.sources[0]).toMatchObject({ source: 'open-er-api', role: 'primary', status: 'failed', attempts: 3 });
    expect(result.sources[0]!.error).toMatch(/^open-er-api: HTTP 503/);
    const methods = await h.db.query<{ source_name: string; extraction_method: string; http_status: number }>(
      `select source_name, extraction_method, http_status from bronze_extraction order by extracted_at, source_name`,
    );
    expect(methods.filter((m) => m.source_name === 'open-er-api').map((m) => m.http_status)).toEqual([503, 503, 503]);
    expect(methods.filter((m) => m.source_name === 'frankfurter').map((m) => m.extraction_method)).toEqual(['failover']);
    const [run] = await h.db.query(`select status, source_used, failover from pipeline_runs`);
    expect(run).toEqual({ status: 'loaded', source_used: 'frankfurter', failover: true });
  });

  it('fails only when no source delivered, keeping the bronze rows and a failed run row', async () => {
    h = await harness();
    h.server.injectFault('open-er-api', faults.htmlError(500), Infinity);
    h.server.injectFault('frankfurter', faults.truncated(40), Infinity);
    const result = await h.run();
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/^no source delivered: open-er-api: HTTP 500 after 3 attempts .*; frankfurter: /);
    expect(await count(h.db, 'select * from bronze_extraction')).toBe(6); // 3 attempts each
    expect(await count(h.db, `select * from bronze_extraction where raw_text like '%<html>%' and http_status = 500`)).toBe(3);
    expect(await count(h.db, `select * from bronze_extraction where http_status is null and error is not null`)).toBe(3);
    expect(await count(h.db, 'select * from fact_rates_current')).toBe(0);
    const [run] = await h.db.query(`select status, error from pipeline_runs`);
    expect(run).toMatchObject({ status: 'failed', error: matcher.stringMatching(/^no source delivered/) });
  });

  it('a failing reference source never fails the run', async () => {
    h = await harness();
    h.server.injectFault('frankfurter', faults.body('<html><body>Gateway says hi</body></html>', 'text/html'), Infinity);
    const result = await h.run();
    expect(result.status).toBe('loaded');
    expect(result.sources[1]).toMatchObject({ source: 'frankfurter', role: 'reference', status: 'failed' });
    expect(result.sources[1]!.error).toMatch(/^frankfurter: .*(not JSON|html)/i);
  });

  it('--no-verify extracts only the source it needs', async () => {
    h = await harness();
    const result = await h.run({ verify: false });
    expect(result.sources.map((s) => s.source)).toEqual(['open-er-api']);
    expect(await count(h.db, `select * from bronze_extraction where source_name = 'frankfurter'`)).toBe(0);
  });

  it('a dry run stores nothing', async () => {
    h = await harness();
    const result = await h.run({ dryRun: true });
    expect(result).toMatchObject({ status: 'loaded', dryRun: true });
    for (const table of ['bronze_extraction', 'fact_rates_current', 'fact_rates_history', 'pipeline_runs', 'dim_currency']) {
      expect(await count(h.db, `select * from ${table}`), table).toBe(0);
    }
  });

  it('the ECB source is rebased to USD: USD→X = EUR→X / EUR→USD', async () => {
    h = await harness('2024-01-09T18:00:00Z', ['ecb', 'frankfurter']);
    const result = await h.run();
    expect(result).toMatchObject({ status: 'loaded', sourceUsed: 'ecb' });
    const xml = await (await fetch(`${h.server.baseUrls.ecb}/eurofxref-daily.xml`)).text();
    const eur = Object.fromEntries([...xml.matchAll(/currency='([A-Z]{3})' rate='([0-9.]+)'/g)].map((m) => [m[1]!, m[2]!] as const));
    const rows = new Map(
      (
        await h.db.query<{ code: string; rate: string }>(
          `select q.currency_code as code, f.rate::text as rate from fact_rates_current f join dim_currency q on q.currency_id = f.quote_currency_id
         join dim_source s using (source_id) where s.source_name = 'ecb'`,
        )
      ).map((r) => [r.code, r.rate]),
    );
    expect(Number(rows.get('EUR'))).toBeCloseTo(1 / Number(eur.USD), 12);
    expect(Number(rows.get('JPY')) / (Number(eur.JPY) / Number(eur.USD))).toBeCloseTo(1, 12);
    expect(rows.has('USD')).toBe(false);
  });
});
