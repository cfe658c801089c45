import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bulkLoadHistory, type HistoryRow } from '../../src/warehouse/bulk-load.js';
import { upsertCurrencies, upsertSource } from '../../src/warehouse/dimensions.js';
import type { DirectDb } from '../../src/warehouse/direct.js';
import { initWarehouse } from '../../src/warehouse/init.js';
import { ensurePartitions } from '../../src/warehouse/partitions.js';
import { rebuildDays } from '../../src/warehouse/publications.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

/**
 * fx_rebuild_days picks how its statements are planned (a run's plan reused for the session, a backfill chunk's made
 * for the call) by setting plan_cache_mode for the statement. The caller's session must not see that choice.
 */
describe('fx_rebuild_days and the session it runs in', () => {
  let database: TestDatabase;
  let db: DirectDb;
  let sourceId: number;
  let baseId: number;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = await database.open();
    await initWarehouse(db);
    const ids = await upsertCurrencies(db, ['USD', 'EUR', 'JPY']);
    baseId = ids.get('USD')!;
    sourceId = await upsertSource(db, 'plans', 'reference', 'https://example.invalid/plans');
    await ensurePartitions(db, '2023-01-01', '2023-03-31');
    const rows: HistoryRow[] = [];
    for (let i = 0; i < 50 * 2; i++) {
      const at = new Date(Date.parse('2023-01-01T00:00:00Z') + i * 12 * 3_600_000);
      const dateKey = Number(at.toISOString().slice(0, 10).replaceAll('-', ''));
      for (const [code, level] of [
        ['EUR', 0.9],
        ['JPY', 140],
      ] as const) {
        rows.push({
          dateKey,
          baseId,
          quoteId: ids.get(code)!,
          sourceId,
          rateTimestamp: at.toISOString(),
          rate: (level + i / 1000).toFixed(6),
          previousRate: null,
          changePct: null,
        });
      }
    }
    await bulkLoadHistory(db, rows, { extractionId: null, runId: randomUUID(), nothingStored: true });
    await db.query('select fx_derive_publications($1::smallint)', [sourceId]);
  }, 120_000);

  afterAll(async () => {
    await database?.drop();
  });

  const mode = async () => (await db.query<{ plan_cache_mode: string }>('show plan_cache_mode'))[0]!.plan_cache_mode;

  it.each(['auto', 'force_custom_plan', 'force_generic_plan'])(
    "leaves plan_cache_mode %s as it was, after a run's few days and after a chunk's many",
    async (setting) => {
      await db.query(`set plan_cache_mode = ${setting}`);
      // In one transaction, as a run's load and refresh: a setting made for the transaction would last to its end.
      await db.query('begin');
      try {
        // The same few days again and again: a run's plan is made at the first call and reused after.
        for (let i = 0; i < 7; i++) {
          // Through the end of the month: the days to the last publication's, 2023-02-19.
          expect(await rebuildDays(db, { sourceId, baseId, from: '2023-02-10', to: '2023-02-11' })).toBe(10 * 2);
          expect(await mode()).toBe(setting);
        }
        expect(await rebuildDays(db, { sourceId, baseId, from: '2023-01-01', to: '2023-02-19' })).toBe(50 * 2);
        expect(await mode()).toBe(setting);
      } finally {
        await db.query('rollback');
        await db.query('reset plan_cache_mode');
      }
    },
  );
});
