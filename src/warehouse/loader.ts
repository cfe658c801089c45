import { RateDecimal } from '../transform/decimal.js';
import { decideChange, resumes, storedChangePct, type ChangeReason } from '../transform/change-filter.js';
import type { Rate } from '../transform/normalize.js';
import type { Db } from './db.js';
import { upsertCurrencies } from './dimensions.js';
import { lastStoredRates } from './last-stored.js';
import { ensurePartitions } from './partitions.js';
import { daysAround, insertPublications, maxRateAgeMs, publicationsAround, type Publication, type TouchedDays } from './publications.js';
import { dateKeyOf, dayOf } from '../calendar/days.js';

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

/** How far back a load first looks for a pair's last stored value. */
const RECENT_DAYS = 45;

interface PairState {
  quote_currency_id: number;
  current_rate: string | null;
  current_ts: Date | null;
  last_stored_rate: string | null;
}

/**
 * Loads one source's USD-based rates as one publication: recorded in source_publications, fact_rates_current
 * upserted (keeping the previous rate and change %), fact_rates_history appended by the change rule. A
 * publication already loaded changes nothing, so reruns never duplicate facts. Loaded out of order (a publication
 * older than one already there), the next publication's values are stored where they now differ from this one's.
 * The caller rebuilds the read models of the days touched.
 */
export async function loadRates(db: Db, input: LoadInput): Promise<LoadCounts> {
  const ids = await upsertCurrencies(db, [input.base, ...input.rates.map((r) => r.quote)]);
  const baseId = ids.get(input.base)!;
  const dateKey = dateKeyOf(input.asOf);
  const around = await publicationsAround(db, input.sourceId, baseId, input.asOf);
  // A publication already loaded changes nothing, unless replayed (reprocess): then its values are decided again
  // (a lower change threshold stores what a higher one skipped) and the publication keeps what it was recorded with.
  // Not in a month that is in the archive only: against the history PostgreSQL lacks, every value would be stored as
  // new, into a partition re-created for it (a shadowed month).
  if (around.exists && (!input.replay || (await inArchivedMonth(db, input.asOf)))) {
    return { loaded: 0, unchanged: input.rates.length, updated: 0, moves: [], touched: null };
  }
  await ensurePartitions(db, dayOf(input.asOf), dayOf(input.asOf));
  const maxAgeMs = await maxRateAgeMs(db);
  const previousPublication = around.previous ? { asOf: around.previous.asOf, pairs: new Set(around.previous.quoteIds) } : null;
  const restated = around.next ? await valuesBefore(db, baseId, input.sourceId, around.next) : null;

  const quoteIds = input.rates.map((r) => ids.get(r.quote)!);
  // The last stored value, looked up in the last weeks' partitions only (pruned when planned, so a run's cost does not
  // grow with the months stored); across all history only for a pair with none there whose value is not plainly a
  // repeat of its current one (a rate that has not moved for longer, e.g. a peg).
  const states = await db.query<PairState & Record<string, unknown>>(
    `select q.id as quote_currency_id, c.rate::text as current_rate, c.rate_timestamp as current_ts, h.rate::text as last_stored_rate
       from unnest($3::smallint[]) as q(id)
       left join fact_rates_current c
              on c.base_currency_id = $1 and c.quote_currency_id = q.id and c.source_id = $2
       left join lateral (
              select rate from fact_rates_history
               where base_currency_id = $1 and quote_currency_id = q.id and source_id = $2
                 and date_key between $6 and $4 and rate_timestamp < $5
               order by date_key desc, rate_timestamp desc limit 1) h on true`,
    [baseId, input.sourceId, quoteIds, dateKey, input.asOf, dateKeyOf(new Date(input.asOf.getTime() - RECENT_DAYS * 86_400_000))],
  );
  const stateOf = new Map(states.map((s) => [s.quote_currency_id, s]));
  const resumedAt = (quote: number) => resumes(quote, input.asOf, previousPublication, maxAgeMs);
  const plainRepeat = (state: PairState | undefined, value: string, quote: number) =>
    !!state?.current_rate && !!state.current_ts && state.current_ts < input.asOf && !resumedAt(quote) && new RateDecimal(state.current_rate).eq(value);
  const older = input.rates
    .map((rate, i) => ({ quote: quoteIds[i]!, value: rate.value }))
    .filter(({ quote, value }) => {
      const state = stateOf.get(quote);
      return !state?.last_stored_rate && !plainRepeat(state, value, quote);
    });
  const olderStored = older.length > 0 ? await lastStoredRates(db, baseId, input.sourceId, older.map((o) => o.quote), input.asOf) : new Map<number, string>();
  for (const state of states) state.last_stored_rate ??= olderStored.get(state.quote_currency_id) ?? null;
  const threshold = new RateDecimal(input.changeThresholdPct);

  const current: { quote: number; rate: string; previous: string | null; changePct: string | null; reason: ChangeReason; flags: string[] }[] = [];
  const history: { quote: number; rate: string; previous: string | null; changePct: string | null; flags: string[] }[] = [];
  const moves: PairMove[] = [];
  let unchanged = 0;
  input.rates.forEach((rate, i) => {
    const quote = quoteIds[i]!;
    const state = stateOf.get(quote);
    const flags = input.flags.get(rate.quote) ?? [];
    // A publication older than the current row (loaded out of order) is still decided by the change rule: it is
    // recorded as carrying the pair, so its value must be in the history; only the current row never moves back.
    const seen = state?.current_ts && state.current_ts.getTime() >= input.asOf.getTime();
    const previous = state?.current_rate ?? null;
    // A plain repeat of the current value with no stored row in the last weeks: its last stored value is older, equal
    // to it or within the threshold of it, so the repeat is not stored either way.
    const lastStored = state?.last_stored_rate ?? (plainRepeat(state, rate.value, quote) ? state!.current_rate : null);
    const { reason, kept, changePct: changeVsStored } = decideChange(lastStored, rate.value, threshold, resumedAt(quote));
    const changeVsPrevious = previous === null ? null : storedChangePct(previous, rate.value);
    if (!seen) current.push({ quote, rate: rate.value, previous, changePct: changeVsPrevious, reason, flags });
    if (!kept) {
      unchanged++;
    } else {
      const changePct = lastStored === null ? null : storedChangePct(lastStored, rate.value);
      history.push({ quote, rate: rate.value, previous: lastStored, changePct, flags });
    }
    if (lastStored !== null && !seen) moves.push({ quote: rate.quote, previous: lastStored, rate: rate.value, changePct: changeVsStored!.toNumber() });
  });

  if (current.length > 0) {
    await db.query(
      `insert into fact_rates_current as f (base_currency_id, quote_currency_id, source_id, rate, rate_timestamp,
                                            previous_rate, change_pct, change_reason, flags, last_extraction_id, updated_at)
       select $1, q, $2, r::numeric, $3, p::numeric, c::numeric, reason, coalesce(string_to_array(fl, ','), '{}'), $4, $5
         from unnest($6::smallint[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[]) as t(q, r, p, c, reason, fl)
       on conflict (base_currency_id, quote_currency_id, source_id) do update
          set rate = excluded.rate, rate_timestamp = excluded.rate_timestamp, previous_rate = excluded.previous_rate,
              change_pct = excluded.change_pct, change_reason = excluded.change_reason, flags = excluded.flags,
              last_extraction_id = excluded.last_extraction_id, updated_at = excluded.updated_at
        where f.rate_timestamp < excluded.rate_timestamp`,
      [baseId, input.sourceId, input.asOf, input.extractionId, input.now,
        current.map((c) => c.quote), current.map((c) => c.rate), current.map((c) => c.previous), current.map((c) => c.changePct),
        current.map((c) => c.reason), current.map((c) => (c.flags.length ? c.flags.join(',') : null))],
    );
  }
  let loaded = 0;
  if (history.length > 0) {
    const inserted = await db.query(
      `insert into fact_rates_history (date_key, base_currency_id, quote_currency_id, source_id, rate_timestamp, rate,
                                       previous_rate, change_pct, flags, extraction_id, run_id)
       select $1, $2, q, $3, $4, r::numeric, p::numeric, c::numeric, coalesce(string_to_array(fl, ','), '{}'), $5, $6
         from unnest($7::smallint[], $8::text[], $9::text[], $10::text[], $11::text[]) as t(q, r, p, c, fl)
       on conflict do nothing
       returning 1`,
      [dateKey, baseId, input.sourceId, input.asOf, input.extractionId, input.runId,
        history.map((h) => h.quote), history.map((h) => h.rate), history.map((h) => h.previous), history.map((h) => h.changePct),
        history.map((h) => (h.flags.length ? h.flags.join(',') : null))],
    );
    loaded = inserted.length;
    unchanged += history.length - loaded;
  }
  const publication: Publication = { asOf: input.asOf, quoteIds };
  if (!around.exists) await insertPublications(db, input.sourceId, baseId, [publication]);
  let restatedRows = 0;
  if (around.next && restated) {
    const values = new Map(input.rates.map((rate, i) => [quoteIds[i]!, rate.value]));
    restatedRows = await restateNext(db, baseId, input.sourceId, publication, values, around.next, restated, maxAgeMs);
  }
  const updated = current.length + loaded + restatedRows;
  const changed = !around.exists || updated > 0;
  return { loaded: loaded + restatedRows, unchanged, updated, moves, touched: changed ? daysAround(input.sourceId, baseId, input.asOf, around) : null };
}

async function inArchivedMonth(db: Db, at: Date): Promise<boolean> {
  const [row] = await db.query<{ archived: boolean }>(
    `select fx_month_archived(date_trunc('month', $1::timestamptz at time zone 'UTC')::date) as archived`, [at]);
  return row?.archived ?? false;
}

/** A publication's value of each pair it carried that has no history row at it: the last stored before it. */
export async function valuesBefore(db: Db, baseId: number, sourceId: number, publication: Publication): Promise<Map<number, string>> {
  const rows = await db.query<{ quote_id: number; rate: string }>(
    `select q.id as quote_id, h.rate::text as rate
       from unnest($3::smallint[]) as q(id)
       join lateral (
            select rate, rate_timestamp from fact_rates_history
             where base_currency_id = $1 and quote_currency_id = q.id and source_id = $2
               and date_key <= $4 and rate_timestamp <= $5
             order by date_key desc, rate_timestamp desc limit 1) h on h.rate_timestamp < $5`,
    [baseId, sourceId, publication.quoteIds, dateKeyOf(publication.asOf), publication.asOf],
  );
  return new Map(rows.map((r) => [r.quote_id, r.rate]));
}

/**
 * After a publication is loaded before one already stored (next), the change rule decides next's values again against
 * it: a value of next that was a repeat (no history row) but differs from the loaded publication's, or whose pair the
 * loaded publication left out, or that follows it by more than the maximum age, is stored now. valuesBefore gives
 * next's values as they were before the load.
 */
export async function restateNext(
  db: Db, baseId: number, sourceId: number, loaded: Publication, values: ReadonlyMap<number, string>,
  next: Publication, before: ReadonlyMap<number, string>, maxAgeMs: number,
): Promise<number> {
  const threshold = new RateDecimal(0);
  const loadedSeen = { asOf: loaded.asOf, pairs: new Set(loaded.quoteIds) };
  const rows: { quote: number; rate: string; previous: string | null }[] = [];
  for (const [quote, rate] of before) {
    const previous = values.get(quote) ?? null;
    const decision = decideChange(previous, rate, threshold, resumes(quote, next.asOf, loadedSeen, maxAgeMs));
    if (decision.kept) rows.push({ quote, rate, previous });
  }
  if (rows.length === 0) return 0;
  const inserted = await db.query(
    `insert into fact_rates_history (date_key, base_currency_id, quote_currency_id, source_id, rate_timestamp, rate, previous_rate, change_pct)
     select $1, $2, q, $3, $4, r::numeric, p::numeric, fx_change_pct(p::numeric, r::numeric)
       from unnest($5::smallint[], $6::text[], $7::text[]) as t(q, r, p)
     on conflict do nothing
     returning 1`,
    [dateKeyOf(next.asOf), baseId, sourceId, next.asOf, rows.map((r) => r.quote), rows.map((r) => r.rate), rows.map((r) => r.previous)],
  );
  return inserted.length;
}
