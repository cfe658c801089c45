import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { createApp } from '../../src/serve/app.js';
import { RateDecimal } from '../../src/transform/decimal.js';
import { bulkLoadHistory, type HistoryRow } from '../../src/warehouse/bulk-load.js';
import { upsertCurrencies, upsertSource } from '../../src/warehouse/dimensions.js';
import type { DirectDb } from '../../src/warehouse/direct.js';
import { initWarehouse } from '../../src/warehouse/init.js';
import { ensurePartitions } from '../../src/warehouse/partitions.js';
import { createTestDatabase, scratchDir, type TestDatabase } from '../helpers/database.js';

/**
 * api.consensus_rate: the median of the sources that have a pair in force, an outlier left out. The expected values
 * are worked out here from the values each source published, with decimal arithmetic, not read back from the warehouse.
 */
const AS_OF = '2024-03-05T12:00:00.000Z';
const AT = '2024-03-06T09:00:00Z';
/** USD→quote as each source published it at AS_OF. gamma's EUR is 3 % off alpha's; delta carries CHF only. */
const PUBLISHED: Record<string, Record<string, string>> = {
  alpha: { EUR: '0.9', GBP: '0.8', JPY: '150' },
  beta: { EUR: '0.901', GBP: '0.8008', JPY: '150.3' },
  gamma: { EUR: '0.927', GBP: '0.8004', JPY: '149.7' },
  delta: { CHF: '0.88' },
};

const d = (value: string | number) => new RateDecimal(value);
const median = (values: RateDecimal[]) => {
  const sorted = [...values].sort((a, b) => a.cmp(b));
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : sorted[mid - 1]!.plus(sorted[mid]!).div(2);
};

type Consensus = {
  base_currency: string;
  quote_currency: string;
  rate: string;
  as_of: Date;
  source_count: number;
  sources: string[];
  spread_pct: string | null;
  excluded: { source: string; rate: number; deviation_pct: number; reason: string }[];
};

describe('api.consensus_rate and api.consensus_rates', () => {
  let database: TestDatabase;
  let db: DirectDb;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = await database.open();
    await initWarehouse(db);
    const ids = await upsertCurrencies(db, ['USD', 'EUR', 'GBP', 'JPY', 'CHF', 'AUD']);
    await ensurePartitions(db, '2024-03-01', '2024-03-31');
    for (const [source, rates] of Object.entries(PUBLISHED)) {
      const sourceId = await upsertSource(db, source, 'reference', `https://example.invalid/${source}`);
      const rows: HistoryRow[] = Object.entries(rates).map(([quote, rate]) => ({
        dateKey: 20240305,
        baseId: ids.get('USD')!,
        quoteId: ids.get(quote)!,
        sourceId,
        rateTimestamp: AS_OF,
        rate,
        previousRate: null,
        changePct: null,
      }));
      await bulkLoadHistory(db, rows, { extractionId: null, runId: randomUUID(), nothingStored: true });
      await db.query('select fx_derive_publications($1::smallint)', [sourceId]);
    }
  }, 120_000);

  afterAll(async () => {
    await database?.drop();
  });

  const consensus = async (base: string, quote: string, at: string | null = AT) =>
    db.query<Consensus>(
      `select base_currency, quote_currency, rate::text as rate, as_of, source_count, sources, spread_pct::text as spread_pct, excluded
         from api.consensus_rate($1, $2, $3)`,
      [base, quote, at],
    );

  it('leaves out the source 3 % off the others and takes the median of the rest, naming it in excluded', async () => {
    const [row] = await consensus('USD', 'EUR');
    const kept = median([d('0.9'), d('0.901')]);
    expect(d(row!.rate).eq(kept)).toBe(true);
    expect(row!.sources).toEqual(['alpha', 'beta']);
    expect(row!.source_count).toBe(2);
    expect(row!.as_of.toISOString()).toBe(AS_OF);
    expect(d(row!.spread_pct!).eq(d('0.901').minus('0.9').div(kept).times(100).toDecimalPlaces(6))).toBe(true);
    expect(row!.excluded).toHaveLength(1);
    const deviation = d('0.927').minus(kept).div(kept).times(100).toDecimalPlaces(4);
    expect(row!.excluded[0]).toMatchObject({ source: 'gamma', rate: 0.927, deviation_pct: deviation.toNumber() });
    expect(row!.excluded[0]!.reason).toBe(
      `${deviation.toFixed(4)} % from the median of the others (${kept.toString()}), beyond the tolerance of 1 %`,
    );
  });

  it('keeps every source within the tolerance: the middle one of three, the spread over all three', async () => {
    const [gbp] = await consensus('USD', 'GBP');
    expect(gbp).toMatchObject({ rate: '0.8004', source_count: 3, sources: ['alpha', 'beta', 'gamma'], excluded: [] });
    expect(d(gbp!.spread_pct!).eq(d('0.8008').minus('0.8').div('0.8004').times(100).toDecimalPlaces(6))).toBe(true);
    const [jpy] = await consensus('usd', ' jpy ');
    expect(jpy).toMatchObject({ base_currency: 'USD', quote_currency: 'JPY', rate: '150', source_count: 3 });
  });

  it("crosses each source's own legs for a pair without USD, and leaves out the outlier the cross shows", async () => {
    const [row] = await consensus('EUR', 'GBP');
    const bySource = (s: string) => d(PUBLISHED[s]!.GBP!).div(PUBLISHED[s]!.EUR!);
    const expected = median([bySource('alpha'), bySource('beta')]);
    expect(d(row!.rate).toSignificantDigits(15).eq(expected.toSignificantDigits(15))).toBe(true);
    expect(row!.sources).toEqual(['alpha', 'beta']);
    expect(row!.excluded.map((e) => e.source)).toEqual(['gamma']);
  });

  it('when no source has both legs, divides the consensus of each leg, naming every source used', async () => {
    const [row] = await consensus('EUR', 'CHF');
    const expected = d('0.88').div(median([d('0.9'), d('0.901')]));
    expect(d(row!.rate).toSignificantDigits(15).eq(expected.toSignificantDigits(15))).toBe(true);
    expect(row!.sources).toEqual(['alpha', 'beta', 'delta']);
    expect(row!.source_count).toBe(3);
    expect(row!.excluded.map((e) => e.source)).toEqual(['gamma']);
  });

  it('a wider tolerance (fxpipe_settings.consensus_tolerance_pct) keeps the outlier: the median of three', async () => {
    await db.query('update fxpipe_settings set consensus_tolerance_pct = 5');
    try {
      const [row] = await consensus('USD', 'EUR');
      expect(row).toMatchObject({ rate: '0.901', source_count: 3, excluded: [] });
    } finally {
      await db.query('update fxpipe_settings set consensus_tolerance_pct = 1');
    }
  });

  it('no row when no source has the pair in force (no value yet, or older than the maximum age); 22023 for an unknown code', async () => {
    expect(await consensus('USD', 'AUD')).toEqual([]);
    expect(await consensus('USD', 'EUR', '2024-03-01T00:00:00Z')).toEqual([]);
    expect(await consensus('USD', 'EUR', '2024-03-20T00:00:00Z')).toEqual([]);
    for (const code of ['XXX', "EUR'; drop table dim_currency; --", '']) {
      await expect(consensus('USD', code)).rejects.toMatchObject({ code: '22023' });
    }
  });

  it('fxpipe serve answers GET /api/v1/consensus with the same consensus; 400 names a bad or unknown code, 404 when none is in force', async () => {
    const app = createApp({
      db,
      sources: [],
      token: undefined,
      cacheDir: scratchDir('fxpipe-consensus-'),
      log: createLogger('error'),
      verify: {
        tolerancePct: '0.5',
        timeoutMs: 60_000,
        maxRows: 1000,
        places: 2,
        alerts: { webhookUrl: undefined, alerts: [], webhookTimeoutMs: 3000 },
      },
      lastGoodDir: scratchDir('fxpipe-consensus-last-good-'),
      lastGoodScope: 'test',
      databaseWaitMs: 2000,
      corsOrigins: undefined,
    });
    const get = async (query: string) => {
      const response = await app.request(`/api/v1/consensus?${query}`);
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    const eur = await get(`base=usd&quote=EUR&at=${AT}`);
    expect(eur.status).toBe(200);
    expect(eur.body).toMatchObject({
      base: 'USD',
      quote: 'EUR',
      asOf: AS_OF,
      at: new Date(AT).toISOString(),
      sourceCount: 2,
      sources: ['alpha', 'beta'],
    });
    expect(d(eur.body.rate as string).eq(median([d('0.9'), d('0.901')]))).toBe(true);
    expect((eur.body.excluded as { source: string }[]).map((e) => e.source)).toEqual(['gamma']);
    expect(await get(`base=USD&quote=XXX&at=${AT}`)).toMatchObject({ status: 400, body: { parameter: 'quote' } });
    expect(await get(`base=EURO&quote=USD`)).toMatchObject({ status: 400, body: { parameter: 'base' } });
    expect(await get(`base=USD&quote=AUD&at=${AT}`)).toEqual({
      status: 404,
      body: { error: `no source has USD/AUD in force at ${new Date(AT).toISOString()}` },
    });
    expect(await get('base=USD&quote=EUR')).toEqual({ status: 404, body: { error: 'no source has USD/EUR in force now' } });
  });

  it('api.consensus_rates lists USD→each currency by consensus now', async () => {
    // "now" is 2026 here, past the maximum age of these 2024 values: nothing is in force now.
    expect(await db.query('select * from api.consensus_rates')).toEqual([]);
    await db.query(`update fxpipe_settings set max_rate_age = interval '100 years'`);
    try {
      const rows = await db.query<{ quote: string; rate: string; source_count: number }>(
        'select quote, rate::text as rate, source_count from api.consensus_rates order by quote',
      );
      expect(rows).toEqual([
        { quote: 'CHF', rate: '0.88', source_count: 1 },
        { quote: 'EUR', rate: median([d('0.9'), d('0.901')]).toString(), source_count: 2 },
        { quote: 'GBP', rate: '0.8004', source_count: 3 },
        { quote: 'JPY', rate: '150', source_count: 3 },
      ]);
    } finally {
      await db.query(`update fxpipe_settings set max_rate_age = interval '7 days'`);
    }
  });
});
