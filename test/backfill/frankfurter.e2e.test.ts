import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ecbBusinessDays, isEcbBusinessDay } from '../../src/calendar/ecb.js';
import { createMarket } from '../../src/demo/market.js';
import { faults, startProviderServer, type ProviderServer } from '../../src/demo/provider-server.js';
import { ecbPublicationTime } from '../../src/calendar/ecb.js';
import type { Db } from '../../src/warehouse/db.js';
import { initWarehouse } from '../../src/warehouse/init.js';
import { runCli } from '../helpers/cli.js';
import { type BackfillJson } from '../helpers/cli-json.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { count } from '../helpers/pipeline.js';

describe('fxpipe backfill --source frankfurter', () => {
  let database: TestDatabase;
  let db: Db;
  let server: ProviderServer;
  let env: Record<string, string>;
  beforeAll(async () => {
    database = await createTestDatabase();
    db = await database.open();
    await initWarehouse(db);
    server = await startProviderServer({
      market: createMarket({ seed: 11, start: new Date('2024-01-09T00:00:00Z') }),
      clock: () => new Date(),
    });
    env = { ...server.env, DATABASE_URL: database.url, FXPIPE_HTTP_RETRIES: '1' };
  });
  afterAll(async () => {
    await server.close();
    await database.drop();
  });

  const args = ['backfill', '--from', '2021-01-01', '--to', '2023-12-31', '--change-threshold', '0', '--json'];

  it('loads the time series a calendar year per request: business days only, exactly as published', async () => {
    const result = await runCli(args, { env });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout) as BackfillJson;
    expect(json).toMatchObject({ status: 'loaded', source: 'frankfurter', counts: { chunksLoaded: 3, chunksSkipped: 0, rejected: 0 } });
    expect(server.requests.map((r) => r.path)).toEqual([
      '/v1/2021-01-01..2021-12-31?base=USD',
      '/v1/2022-01-01..2022-12-31?base=USD',
      '/v1/2023-01-01..2023-12-31?base=USD',
    ]);

    const days = (
      await db.query<{ day: string }>(
        `select distinct to_char(d.full_date, 'YYYY-MM-DD') as day from fact_rates_history h join dim_date d using (date_key) order by 1`,
      )
    ).map((r) => r.day);
    // The 2021 series starts on 2020-12-31 (the business day before 1 January): that day is outside the chunk.
    expect(days).toEqual(ecbBusinessDays('2021-01-01', '2023-12-31'));
    expect(days.every(isEcbBusinessDay)).toBe(true);

    const published = JSON.parse(await (await fetch(`${server.baseUrls.frankfurter}/v1/2022-01-01..2022-12-31?base=USD`)).text()) as {
      rates: Record<string, Record<string, number>>;
    };
    const stored = new Map(
      (
        await db.query<{ key: string; rate: string; at: Date }>(
          `select to_char(d.full_date, 'YYYY-MM-DD') || ' ' || q.currency_code as key, h.rate::text as rate, h.rate_timestamp as at
         from fact_rates_history h join dim_date d using (date_key) join dim_currency q on q.currency_id = h.quote_currency_id
        where h.date_key between 20220101 and 20221231`,
        )
      ).map((r) => [r.key, r]),
    );
    let compared = 0;
    let repeats = 0;
    const previous = new Map<string, number>();
    for (const [day, rates] of Object.entries(published.rates).sort(([a], [b]) => a.localeCompare(b))) {
      for (const [code, value] of Object.entries(rates)) {
        const repeat = previous.get(code) === value;
        previous.set(code, value);
        if (day < '2022-01-01') continue;
        const row = stored.get(`${day} ${code}`);
        if (repeat) {
          // The change rule stores no exact repeat of the pair's previous value (a currency pegged to USD).
          expect(row, `${day} ${code} repeats`).toBeUndefined();
          repeats++;
          continue;
        }
        expect(Number(row?.rate), `${day} ${code}`).toBe(value);
        expect(row?.at).toEqual(ecbPublicationTime(day));
        compared++;
      }
    }
    expect(compared).toBe(stored.size);
    expect(repeats).toBeGreaterThan(0);

    const bronze = await db.query<{ extraction_method: string; request_params: unknown; has_json: boolean; http_status: number }>(
      `select extraction_method, request_params, raw_json is not null as has_json, http_status from bronze_extraction order by request_params->>'from'`,
    );
    expect(bronze).toEqual(
      ['2021', '2022', '2023'].map((year) => ({
        extraction_method: 'backfill',
        request_params: { base: 'USD', from: `${year}-01-01`, to: `${year}-12-31` },
        has_json: true,
        http_status: 200,
      })),
    );
    expect(
      await count(db, `select * from vw_rates_latest where source_name = 'frankfurter' and rate_timestamp = $1`, [
        ecbPublicationTime('2023-12-29'),
      ]),
    ).toBeGreaterThan(25);
  });

  it('a rerun fetches again but adds 0 rows', async () => {
    const rows = await count(db, 'select * from fact_rates_history');
    const result = await runCli(args, { env });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      status: 'unchanged',
      counts: { chunksLoaded: 0, chunksSkipped: 3, loaded: 0 },
      currentUpdated: 0,
    });
    expect(await count(db, 'select * from fact_rates_history')).toBe(rows);
    expect(await count(db, 'select * from bronze_extraction')).toBe(3);
  });

  it('a provider that stays down fails the backfill with exit 1, naming the chunk', async () => {
    server.injectFault('frankfurter', faults.outage(), Infinity);
    try {
      const result = await runCli(['backfill', '--from', '2020-06-01', '--to', '2020-12-31'], {
        env: { ...env, FXPIPE_HTTP_RETRIES: '0' },
      });
      expect(result.code).toBe(1);
      expect(result.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(/^fxpipe: backfill \S+ failed at chunk 2020-06-01\.\.2020-12-31: frankfurter: HTTP 503 after 1 attempt/),
      ]);
    } finally {
      server.clearFaults();
    }
    expect(await count(db, `select * from pipeline_runs where status = 'failed'`)).toBe(1);
  });
});
