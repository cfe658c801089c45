import { dateKeyOf, dayOf } from '../calendar/days.js';
import { ChangeFilter, decideChange, storedChangePct, type ChangeReason } from '../transform/change-filter.js';
import { RateDecimal } from '../transform/decimal.js';
import { bulkLoadHistory, type HistoryRow } from './bulk-load.js';
import type { Db } from './db.js';
import type { DirectDb } from './direct.js';
import { lastStoredRates } from './last-stored.js';
import { ensurePartitions } from './partitions.js';
import {
  daysAround,
  insertPublications,
  noPublicationThrough,
  publicationsAround,
  type Publication,
  type TouchedDays,
} from './publications.js';

/** One publication of a source to write: when, its values by quote currency id, and (a run's) each value's flags. */
export interface PublicationToWrite {
  asOf: Date;
  values: ReadonlyMap<number, string>;
  flags?: ReadonlyMap<number, string[]>;
}

export interface WriteOptions {
  sourceId: number;
  baseId: number;
  /** History gets a row only when |move| from the last stored rate exceeds this; 0: every value that differs from it. */
  changeThresholdPct: number;
  runId: string;
  extractionId: string | null;
  /** When the rows are written (the job's clock). */
  now: Date;
  /**
   * Publications already recorded are decided again by the change rule (reprocess, and a backfill: a lower threshold
   * stores what a higher one skipped; the publication keeps what it was first recorded with); otherwise one already
   * recorded changes nothing (a run).
   */
  decideAgain: boolean;
  /**
   * Decided again even in a month that is in the archive only (a backfill: it re-creates the month's rows, which
   * `archive` then reports as shadowed and `restore` merges); otherwise such a publication changes nothing.
   */
  reloadArchived?: boolean;
  /** A backfill's many rows, streamed with COPY on the direct path's connection instead of one INSERT. */
  copy?: DirectDb;
}

/** The change rule's decision on one value of the batch's last publication carrying its pair. */
export interface PairDecision {
  quoteId: number;
  rate: string;
  /** The pair's last stored value it was decided against (null: its first). */
  previous: string | null;
  changePct: RateDecimal | null;
  reason: ChangeReason;
  /** Whether fact_rates_current moved to it (false: the row holds a newer value already). */
  currentMoved: boolean;
}

export interface Written {
  /** History rows written: the publications' values the change rule kept, and the next publication's restated. */
  historyRows: number;
  /** Of those, the next publication's, restated. */
  restatedRows: number;
  /** Values the history did not take: repeats, moves within the threshold, rows stored already. */
  unchanged: number;
  /** Current rows moved forward (or added). */
  currentRows: number;
  /** The decision on each pair's value in the last publication that carried it, for the run's moves. */
  decisions: PairDecision[];
  /** The days whose read models changed (null: nothing changed). */
  touched: TouchedDays | null;
}

/** How far back a first look for a pair's last stored value goes: the partitions of these days only. */
const RECENT_DAYS = 45;

/**
 * The one writer of publications, for run (a batch of one), reprocess and backfill (a chunk's many): the publications
 * recorded in source_publications; each value decided by the change rule against the pair's last stored value, the
 * warehouse saying which pairs start a stretch in force (fx_resumed_pairs); the values kept appended to
 * fact_rates_history; fact_rates_current moved to each pair's latest value; a publication already stored after the
 * batch restated (its values decided again against the batch's last); and the days whose read models the caller
 * rebuilds. Runs in the caller's transaction.
 */
export async function writePublications(tx: Db, batch: PublicationToWrite[], options: WriteOptions): Promise<Written> {
  const { sourceId, baseId } = options;
  const all = [...batch].sort((a, b) => a.asOf.getTime() - b.asOf.getTime());
  const values = all.reduce((n, p) => n + p.values.size, 0);
  const recorded = await recordedAmong(
    tx,
    sourceId,
    baseId,
    all.map((p) => p.asOf),
  );
  // A publication already loaded changes nothing, unless decided again; never one in a month in the archive only:
  // against the history PostgreSQL lacks, every value would be stored as new, into a partition re-created for it.
  const archived =
    options.decideAgain && !options.reloadArchived
      ? await archivedAmong(
          tx,
          all.filter((p) => recorded.has(p.asOf.getTime())).map((p) => p.asOf),
        )
      : new Set<number>();
  const publications = all.filter((p) => !recorded.has(p.asOf.getTime()) || (options.decideAgain && !archived.has(p.asOf.getTime())));
  const first = publications[0];
  const last = publications.at(-1);
  if (!first || !last) return { historyRows: 0, restatedRows: 0, unchanged: values, currentRows: 0, decisions: [], touched: null };

  await ensurePartitions(tx, dayOf(first.asOf), dayOf(last.asOf));
  const before = await publicationsAround(tx, sourceId, baseId, first.asOf);
  const { next } = last === first ? before : await publicationsAround(tx, sourceId, baseId, last.asOf);
  const restated = next ? await valuesBefore(tx, baseId, sourceId, next) : null;
  const nothingStored = noPublicationThrough(before, last.asOf);
  const quoteIds = [...new Set(publications.flatMap((p) => [...p.values.keys()]))];
  const lastStored = await lastStoredBefore(tx, baseId, sourceId, quoteIds, first);
  await insertPublications(
    tx,
    sourceId,
    baseId,
    publications.map((p): Publication => ({ asOf: p.asOf, quoteIds: [...p.values.keys()] })),
  );

  const resumed = await resumedPairs(tx, sourceId, first.asOf, last.asOf);
  const filter = new ChangeFilter(options.changeThresholdPct, lastStored, (quote, asOf) => resumed.has(`${asOf.getTime()}:${quote}`));
  const rows: (HistoryRow & { flags: string[] })[] = [];
  const latest = new Map<number, Omit<PairDecision, 'currentMoved'> & { asOf: Date; flags: string[] }>();
  for (const publication of publications) {
    filter.publication(publication.asOf);
    for (const [quoteId, rate] of publication.values) {
      const { decision, previous } = filter.decide(quoteId, rate);
      const flags = publication.flags?.get(quoteId) ?? [];
      latest.set(quoteId, {
        quoteId,
        rate,
        previous,
        changePct: decision.changePct,
        reason: decision.reason,
        asOf: publication.asOf,
        flags,
      });
      if (!decision.kept) continue;
      rows.push({
        dateKey: dateKeyOf(publication.asOf),
        baseId,
        quoteId,
        sourceId,
        rateTimestamp: publication.asOf.toISOString(),
        rate,
        previousRate: previous,
        changePct: previous === null ? null : storedChangePct(previous, rate),
        flags,
      });
    }
  }
  const stored = options.copy
    ? (await bulkLoadHistory(options.copy, rows, { extractionId: options.extractionId, runId: options.runId, nothingStored })).inserted
    : await insertHistory(tx, rows, options);
  const moved = await moveCurrent(tx, [...latest.values()], options);
  // Whether each current row is in force now follows the source's latest publication (migration 0023).
  await tx.query('select fx_refresh_current($1::smallint)', [sourceId]);
  const restatedRows = next && restated ? await restateNext(tx, baseId, sourceId, last, next, restated) : 0;
  const changed = publications.some((p) => !recorded.has(p.asOf.getTime())) || stored + restatedRows + moved.size > 0;
  return {
    historyRows: stored + restatedRows,
    restatedRows,
    unchanged: values - stored,
    currentRows: moved.size,
    decisions: [...latest.values()].map(({ asOf: _asOf, flags: _flags, ...decision }) => ({
      ...decision,
      currentMoved: moved.has(decision.quoteId),
    })),
    touched: changed
      ? daysAround(sourceId, baseId, first.asOf, { previous: before.previous, next: next ?? { asOf: last.asOf, quoteIds: [] } })
      : null,
  };
}

/** The as-ofs among these the source has a publication recorded at (epoch ms). */
async function recordedAmong(tx: Db, sourceId: number, baseId: number, asOfs: Date[]): Promise<Set<number>> {
  const rows = await tx.query<{ as_of: Date }>(
    'select as_of from source_publications where source_id = $1 and base_currency_id = $2 and as_of = any ($3::timestamptz[])',
    [sourceId, baseId, asOfs],
  );
  return new Set(rows.map((r) => r.as_of.getTime()));
}

/** The as-ofs among these in a month that is in the archive only (epoch ms). */
async function archivedAmong(tx: Db, asOfs: Date[]): Promise<Set<number>> {
  if (asOfs.length === 0) return new Set();
  const rows = await tx.query<{ as_of: Date }>(
    `select t.as_of from unnest($1::timestamptz[]) as t(as_of)
      where fx_month_archived(date_trunc('month', t.as_of at time zone 'UTC')::date)`,
    [asOfs],
  );
  return new Set(rows.map((r) => r.as_of.getTime()));
}

/**
 * Each pair's last stored value before the batch's first publication: looked up in the last weeks' partitions first
 * (pruned when planned, so the cost does not grow with the months stored); across all history only for a pair with
 * none there whose value in the first publication is not plainly a repeat of its current one (a rate that has not
 * moved for longer, a peg).
 */
async function lastStoredBefore(
  tx: Db,
  baseId: number,
  sourceId: number,
  quoteIds: number[],
  first: PublicationToWrite,
): Promise<Map<number, string>> {
  const states = await tx.query<{ quote_id: number; current_rate: string | null; current_ts: Date | null; last_stored: string | null }>(
    `select q.id as quote_id, c.rate::text as current_rate, c.rate_timestamp as current_ts, h.rate::text as last_stored
       from unnest($3::smallint[]) as q(id)
       left join fact_rates_current c on c.base_currency_id = $1 and c.quote_currency_id = q.id and c.source_id = $2
       left join lateral (
              select rate from fact_rates_history
               where base_currency_id = $1 and quote_currency_id = q.id and source_id = $2
                 and date_key between $6 and $4 and rate_timestamp < $5
               order by date_key desc, rate_timestamp desc limit 1) h on true`,
    [baseId, sourceId, quoteIds, dateKeyOf(first.asOf), first.asOf, dateKeyOf(new Date(first.asOf.getTime() - RECENT_DAYS * 86_400_000))],
  );
  const lastStored = new Map<number, string>();
  const older: number[] = [];
  const carriedBefore = await carriedByPrevious(tx, sourceId, first.asOf);
  for (const state of states) {
    if (state.last_stored !== null) {
      lastStored.set(state.quote_id, state.last_stored);
      continue;
    }
    // A plain repeat of the current value (still in force: carried by the publication before, within its age) with no
    // stored row in the last weeks: its last stored value is older, equal to it or within the threshold of it.
    const value = first.values.get(state.quote_id);
    const repeat =
      value !== undefined &&
      state.current_rate !== null &&
      state.current_ts !== null &&
      state.current_ts < first.asOf &&
      carriedBefore.has(state.quote_id) &&
      new RateDecimal(state.current_rate).eq(value);
    if (repeat) lastStored.set(state.quote_id, state.current_rate!);
    else older.push(state.quote_id);
  }
  if (older.length > 0)
    for (const [quote, rate] of await lastStoredRates(tx, baseId, sourceId, older, first.asOf)) lastStored.set(quote, rate);
  return lastStored;
}

/** The pairs still in force just before asOf: carried by the publication before it, and it in force at asOf. */
async function carriedByPrevious(tx: Db, sourceId: number, asOf: Date): Promise<Set<number>> {
  const rows = await tx.query<{ quote_id: number }>(
    `select q.id as quote_id from fx_publications_at($2::timestamptz - interval '1 microsecond') p
      cross join unnest(p.quote_ids) as q(id)
      where p.source_id = $1 and $2 <= fx_in_force_until(p.as_of)`,
    [sourceId, asOf],
  );
  return new Set(rows.map((r) => r.quote_id));
}

/** The (publication, pair) of the source from `from` through `to` that start a stretch in force, as `${epoch ms}:${quote id}`. */
async function resumedPairs(tx: Db, sourceId: number, from: Date, to: Date): Promise<Set<string>> {
  const rows = await tx.query<{ as_of: Date; quote_id: number }>('select as_of, quote_id from fx_resumed_pairs($1::smallint, $2, $3)', [
    sourceId,
    from,
    to,
  ]);
  return new Set(rows.map((r) => `${r.as_of.getTime()}:${r.quote_id}`));
}

/** A run's (or a replay's) few history rows in one INSERT, with their flags; rows stored already add nothing. */
async function insertHistory(tx: Db, rows: (HistoryRow & { flags: string[] })[], options: WriteOptions): Promise<number> {
  if (rows.length === 0) return 0;
  const inserted = await tx.query(
    `insert into fact_rates_history (date_key, base_currency_id, quote_currency_id, source_id, rate_timestamp, rate,
                                     previous_rate, change_pct, flags, extraction_id, run_id)
     select d, $1, q, $2, at, r::numeric, p::numeric, c::numeric, coalesce(string_to_array(fl, ','), '{}'), $3, $4
       from unnest($5::integer[], $6::smallint[], $7::timestamptz[], $8::text[], $9::text[], $10::text[], $11::text[]) as t(d, q, at, r, p, c, fl)
     on conflict do nothing
     returning 1`,
    [
      options.baseId,
      options.sourceId,
      options.extractionId,
      options.runId,
      rows.map((r) => r.dateKey),
      rows.map((r) => r.quoteId),
      rows.map((r) => r.rateTimestamp),
      rows.map((r) => r.rate),
      rows.map((r) => r.previousRate),
      rows.map((r) => r.changePct),
      rows.map((r) => (r.flags.length ? r.flags.join(',') : null)),
    ],
  );
  return inserted.length;
}

/**
 * fact_rates_current moved to each pair's latest value, where it is newer than what the row holds (a publication
 * loaded out of order never moves it back): the replaced rate becomes previous_rate, the move its change_pct. The one
 * statement that writes current rates.
 */
async function moveCurrent(
  tx: Db,
  latest: { quoteId: number; rate: string; reason: ChangeReason; asOf: Date; flags: string[] }[],
  options: WriteOptions,
): Promise<Set<number>> {
  if (latest.length === 0) return new Set();
  const rows = await tx.query<{ quote_currency_id: number }>(
    `insert into fact_rates_current as f (base_currency_id, quote_currency_id, source_id, rate, rate_timestamp,
                                          change_reason, flags, last_extraction_id, updated_at)
     select $1, q, $2, r::numeric, at, reason, coalesce(string_to_array(fl, ','), '{}'), $3, $4
       from unnest($5::smallint[], $6::text[], $7::timestamptz[], $8::text[], $9::text[]) as t(q, r, at, reason, fl)
     on conflict (base_currency_id, quote_currency_id, source_id) do update
        set rate = excluded.rate, rate_timestamp = excluded.rate_timestamp, previous_rate = f.rate,
            change_pct = fx_change_pct(f.rate, excluded.rate), change_reason = excluded.change_reason, flags = excluded.flags,
            last_extraction_id = excluded.last_extraction_id, updated_at = excluded.updated_at
      where f.rate_timestamp < excluded.rate_timestamp
     returning quote_currency_id`,
    [
      options.baseId,
      options.sourceId,
      options.extractionId,
      options.now,
      latest.map((l) => l.quoteId),
      latest.map((l) => l.rate),
      latest.map((l) => l.asOf),
      latest.map((l) => l.reason),
      latest.map((l) => (l.flags.length ? l.flags.join(',') : null)),
    ],
  );
  return new Set(rows.map((r) => r.quote_currency_id));
}

/** A publication's value of each pair it carried that has no history row at it: the last stored before it. */
async function valuesBefore(tx: Db, baseId: number, sourceId: number, publication: Publication): Promise<Map<number, string>> {
  const rows = await tx.query<{ quote_id: number; rate: string }>(
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
 * After publications are written before one already stored (next), the change rule decides next's values again against
 * the batch's last: a value of next that was a repeat (no history row) but differs from it, or whose pair the batch's
 * last left out, or that follows it beyond its age (fx_resumed_pairs), is stored now. `before`: next's values as they
 * were before the batch.
 */
async function restateNext(
  tx: Db,
  baseId: number,
  sourceId: number,
  last: PublicationToWrite,
  next: Publication,
  before: ReadonlyMap<number, string>,
): Promise<number> {
  const resumed = await resumedPairs(tx, sourceId, next.asOf, next.asOf);
  const threshold = new RateDecimal(0);
  const rows: { quote: number; rate: string; previous: string | null }[] = [];
  for (const [quote, rate] of before) {
    const previous = last.values.get(quote) ?? null;
    if (decideChange(previous, rate, threshold, resumed.has(`${next.asOf.getTime()}:${quote}`)).kept) rows.push({ quote, rate, previous });
  }
  if (rows.length === 0) return 0;
  const inserted = await tx.query(
    `insert into fact_rates_history (date_key, base_currency_id, quote_currency_id, source_id, rate_timestamp, rate, previous_rate, change_pct)
     select $1, $2, q, $3, $4, r::numeric, p::numeric, fx_change_pct(p::numeric, r::numeric)
       from unnest($5::smallint[], $6::text[], $7::text[]) as t(q, r, p)
     on conflict do nothing
     returning 1`,
    [dateKeyOf(next.asOf), baseId, sourceId, next.asOf, rows.map((r) => r.quote), rows.map((r) => r.rate), rows.map((r) => r.previous)],
  );
  return inserted.length;
}
