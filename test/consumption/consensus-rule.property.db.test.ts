import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RateDecimal } from '../../src/transform/decimal.js';
import type { Db } from '../../src/warehouse/db.js';
import { initWarehouse } from '../../src/warehouse/init.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

/**
 * The consensus rule (fx_consensus_of, migration 0018) against a recompute here: random sets of sources' rates —
 * ties, nulls, outliers on either side, 0 to 7 sources — and random tolerances. The oracle is the rule as docs/verify.md
 * states it, with decimal.js: while three or more remain, leave out the source furthest from the median of the others
 * (the first such in source order) when it is further than the tolerance; the rate is the median of those kept.
 */
type Answer = { name: string; rate: RateDecimal | null; asOf: number };

const median = (values: RateDecimal[]) => {
  const sorted = [...values].sort((a, b) => a.cmp(b));
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : sorted[mid - 1]!.plus(sorted[mid]!).times('0.5');
};

function oracle(answers: Answer[], tolerance: RateDecimal) {
  let kept = answers.filter((a) => a.rate !== null) as (Answer & { rate: RateDecimal })[];
  if (kept.length === 0) return null;
  const excluded: string[] = [];
  while (kept.length >= 3) {
    let worst = -1;
    let worstDev = new RateDecimal(0);
    kept.forEach((a, i) => {
      const others = median(kept.filter((_, j) => j !== i).map((o) => o.rate));
      const dev = a.rate.minus(others).abs().div(others).times(100);
      if (dev.gt(tolerance) && dev.gt(worstDev)) {
        worst = i;
        worstDev = dev;
      }
    });
    if (worst < 0) break;
    excluded.push(kept[worst]!.name);
    kept = kept.filter((_, j) => j !== worst);
  }
  const rates = kept.map((a) => a.rate);
  const rate = median(rates);
  const spread = RateDecimal.max(...rates)
    .minus(RateDecimal.min(...rates))
    .div(rate)
    .times(100)
    .toDecimalPlaces(6);
  return { rate, sources: kept.map((a) => a.name), excluded, asOf: Math.min(...kept.map((a) => a.asOf)), spread };
}

/** A source's rate: near 1.5, or an outlier a few percent off; drawn from few values so that ties happen. */
const rateArb = fc.oneof(
  fc.constantFrom('1.5', '1.5', '1.5003', '1.4998', '1.501', '1.49', '1.53', '1.455', '1.62'),
  fc.integer({ min: 14_000, max: 16_000 }).map((n) => (n / 10_000).toString()),
);
const answersArb = fc
  .array(fc.record({ rate: fc.option(rateArb, { freq: 5 }), asOf: fc.integer({ min: 0, max: 86_400 }) }), { maxLength: 7 })
  .map((list) =>
    list.map((a, i): Answer => ({
      name: `source_${String.fromCharCode(97 + i)}`,
      rate: a.rate === null ? null : new RateDecimal(a.rate),
      asOf: a.asOf,
    })),
  );
const toleranceArb = fc.constantFrom('0.05', '0.5', '1', '2.5');

describe('the consensus rule (fx_consensus_of) against a recompute', () => {
  let database: TestDatabase;
  let db: Db;
  beforeAll(async () => {
    database = await createTestDatabase();
    db = await database.open();
    await initWarehouse(db);
  }, 120_000);
  afterAll(async () => {
    await database?.drop();
  });

  it('keeps and leaves out the same sources, and gives the same median, spread and as-of', async () => {
    const base = Date.parse('2024-03-05T00:00:00Z');
    await fc.assert(
      fc.asyncProperty(answersArb, toleranceArb, async (answers, tolerance) => {
        const [row] = await db.query<{
          rate: string | null;
          as_of: Date | null;
          source_count: number | null;
          sources: string[] | null;
          spread_pct: string | null;
          excluded: { source: string }[] | null;
        }>(
          `select rate::text, as_of, source_count, sources, spread_pct::text, excluded
             from fx_consensus_of($1::text[], $2::numeric[], $3::timestamptz[], $4::numeric)`,
          [
            answers.map((a) => a.name),
            answers.map((a) => a.rate?.toFixed() ?? null),
            answers.map((a) => new Date(base + a.asOf * 1000)),
            tolerance,
          ],
        );
        const expected = oracle(answers, new RateDecimal(tolerance));
        if (expected === null) {
          expect(row).toEqual({ rate: null, as_of: null, source_count: null, sources: null, spread_pct: null, excluded: null });
          return;
        }
        expect(new RateDecimal(row!.rate!).eq(expected.rate), `rate ${row!.rate} vs ${expected.rate.toFixed()}`).toBe(true);
        expect(row!.sources).toEqual(expected.sources);
        expect(row!.source_count).toBe(expected.sources.length);
        expect(row!.excluded!.map((e) => e.source)).toEqual(expected.excluded);
        expect(row!.as_of!.getTime()).toBe(base + expected.asOf * 1000);
        expect(new RateDecimal(row!.spread_pct!).eq(expected.spread), `spread ${row!.spread_pct} vs ${expected.spread.toFixed()}`).toBe(
          true,
        );
      }),
      { numRuns: 400, seed: Number(process.env.FC_SEED ?? 20261130) },
    );
  });
});
