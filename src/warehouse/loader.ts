import type { Rate } from '../transform/normalize.js';
import type { Db } from './db.js';
import { upsertCurrencies } from './dimensions.js';
import { writePublications } from './publication-writer.js';
import type { TouchedDays } from './publications.js';

export type { ChangeReason } from '../transform/change-filter.js';

export interface LoadInput {
  runId: string;
  extractionId: string;
  sourceId: number;
  base: string;
  asOf: Date;
  rates: Rate[];
  /** Soft-check flags per quote (zscore, reference_deviation); loaded, and shown on the facts. */
  flags: Map<string, string[]>;
  /** History gets a row only when |move| from the last stored rate exceeds this; 0: every value that differs from it. */
  changeThresholdPct: number;
  /** The run's clock (simulated in the demo). */
  now: Date;
  /**
   * Replaying stored responses (reprocess): a publication already loaded has its values decided again by the change
   * rule (a lower threshold stores what a higher one skipped); otherwise it changes nothing.
   */
  replay?: boolean;
}

export interface LoadCounts {
  /** History rows written. */
  loaded: number;
  /** Rates whose as-of time was already loaded, or whose move stayed within the threshold. */
  unchanged: number;
  /** Rows changed: current rows moved forward plus history rows written (0: nothing new). */
  updated: number;
  moves: PairMove[];
  /** The days whose read models the load changed (null: a publication already loaded, nothing changed). */
  touched: TouchedDays | null;
}

/** A pair's move against its previous stored rate, for alerts. */
export interface PairMove {
  quote: string;
  previous: string;
  rate: string;
  changePct: number;
}

/**
 * Loads one source's USD-based rates as one publication, through the one publication writer (publication-writer.ts):
 * recorded in source_publications, fact_rates_current moved forward (keeping the previous rate and change %),
 * fact_rates_history appended by the change rule. A publication already loaded changes nothing (unless replayed), so
 * reruns never duplicate facts; loaded out of order, the next publication's values are stored where they now differ
 * from this one's. The caller rebuilds the read models of the days touched.
 */
export async function loadRates(db: Db, input: LoadInput): Promise<LoadCounts> {
  const ids = await upsertCurrencies(db, [input.base, ...input.rates.map((r) => r.quote)]);
  const codeOf = new Map(input.rates.map((rate) => [ids.get(rate.quote)!, rate.quote]));
  const written = await writePublications(
    db,
    [
      {
        asOf: input.asOf,
        values: new Map(input.rates.map((rate) => [ids.get(rate.quote)!, rate.value])),
        flags: new Map(input.rates.map((rate) => [ids.get(rate.quote)!, input.flags.get(rate.quote) ?? []])),
      },
    ],
    {
      sourceId: input.sourceId,
      baseId: ids.get(input.base)!,
      changeThresholdPct: input.changeThresholdPct,
      runId: input.runId,
      extractionId: input.extractionId,
      now: input.now,
      decideAgain: Boolean(input.replay),
    },
  );
  // A move against the pair's last stored value, where the current rate moved to it (not a publication loaded behind).
  const moves = written.decisions
    .filter((d) => d.previous !== null && d.currentMoved)
    .map((d) => ({ quote: codeOf.get(d.quoteId)!, previous: d.previous!, rate: d.rate, changePct: d.changePct!.toNumber() }));
  return {
    loaded: written.historyRows,
    unchanged: written.unchanged,
    updated: written.currentRows + written.historyRows,
    moves,
    touched: written.touched,
  };
}
