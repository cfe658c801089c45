import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bulkLoadHistory, type HistoryRow } from '../../src/warehouse/bulk-load.js';
import { upsertCurrencies, upsertSource } from '../../src/warehouse/dimensions.js';
import type { DirectDb } from '../../src/warehouse/direct.js';
import { initWarehouse } from '../../src/warehouse/init.js';
import { ensurePartitions } from '../../src/warehouse/partitions.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

/**
 * bulkLoadHistory's two ways in: COPY straight into fact_rates_history when the caller knows nothing of the rows'
 * source is stored at their instants, else through a staging table that adds only what is not stored yet.
 */
describe('bulkLoadHistory', () => {
  let database: TestDatabase;
  let db: DirectDb;
  let ids: Map<string, number>;
  let sourceId: number;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = await database.open();
    await initWarehouse(db);
    ids = await upsertCurrencies(db, ['USD', 'EUR', 'JPY']);
    sourceId = await upsertSource(db, 'bulk', 'reference', 'https://example.invalid/bulk');
    await ensurePartitions(db, '2023-01-01', '2023-03-31');
  }, 120_000);

  afterAll(async () => {
    await database?.drop();
  });

  /** Every 12 hours from `from` for `days` days, EUR and JPY, values that never repeat (the text as a provider wrote it). */
  function rows(from: string, days: number): HistoryRow[] {
    const out: HistoryRow[] = [];
    for (let i = 0; i < days * 2; i++) {
      const at = new Date(Date.parse(`${from}T00:00:00Z`) + i * 12 * 3_600_000);
      const dateKey = Number(at.toISOString().slice(0, 10).replaceAll('-', ''));
      for (const [code, level] of [
        ['EUR', 0.9],
        ['JPY', 140],
      ] as const) {
        out.push({
          dateKey,
          baseId: ids.get('USD')!,
          quoteId: ids.get(code)!,
          sourceId,
          rateTimestamp: at.toISOString(),
          rate: (level + i / 1000).toFixed(6),
          previousRate: null,
          changePct: null,
        });
      }
    }
    return out;
  }

  const stored = async () =>
    db.query<{ at: Date; quote: number; rate: string; run_id: string | null; extraction_id: string | null }>(
      `select rate_timestamp as at, quote_currency_id as quote, rate::text as rate, run_id::text as run_id, extraction_id::text as extraction_id
         from fact_rates_history where source_id = $1 order by rate_timestamp, quote_currency_id`,
      [sourceId],
    );

  it('COPYs straight in when nothing is stored: every row, exactly as given, with its run and no extraction', async () => {
    const runId = randomUUID();
    const given = rows('2023-01-30', 4);
    const result = await bulkLoadHistory(db, given, { extractionId: null, runId, nothingStored: true });
    expect(result).toEqual({ staged: given.length, inserted: given.length });
    const got = await stored();
    expect(got.map((r) => [r.at.toISOString(), r.quote, r.rate])).toEqual(given.map((r) => [r.rateTimestamp, r.quoteId, r.rate]));
    expect(new Set(got.map((r) => r.run_id))).toEqual(new Set([runId]));
    expect(got.every((r) => r.extraction_id === null)).toBe(true);
  });

  it('through the staging table, rows stored already add nothing and the rest are appended', async () => {
    const before = await stored();
    const overlapping = rows('2023-02-01', 4);
    const result = await bulkLoadHistory(db, overlapping, { extractionId: null, runId: randomUUID(), nothingStored: false });
    const newOnes = overlapping.filter((r) => !before.some((b) => b.at.toISOString() === r.rateTimestamp && b.quote === r.quoteId));
    expect(newOnes.length).toBe(8);
    expect(result).toEqual({ staged: overlapping.length, inserted: newOnes.length });
    expect((await stored()).length).toBe(before.length + newOnes.length);
  });

  it('a row stored already on the straight path fails the whole load and leaves nothing of it (the caller must know)', async () => {
    const before = await stored();
    const clashing = [...rows('2023-03-01', 1), ...rows('2023-02-04', 1)];
    await expect(bulkLoadHistory(db, clashing, { extractionId: null, runId: randomUUID(), nothingStored: true })).rejects.toMatchObject({
      code: '23505',
    });
    expect(await stored()).toEqual(before);
    expect((await db.query(`select 1 from pg_class where relname = 'backfill_stage'`)).length).toBe(0);
  });
});
