import { addDays, FIRST_DAY, LAST_DAY } from '../../../calendar/days.js';
import type { Db } from '../../../warehouse/db.js';
import { preferredSourceBetween, publishedBetween, publishedOn, type PublishedDay } from '../published.js';
import { addMonths, isPassthrough, isRange, isRollup, rangeEnd, type RateQuery } from './query.js';
import {
  bucketSnapshots,
  daySnapshot,
  monthBucket,
  snapshotRecords,
  sourceOfKey,
  weekBucket,
  type Shape,
  type Snapshot,
  type V2Record,
} from './records.js';

/** One publishing day's (or bucket's) records, and the publication they come from. */
export interface Batch {
  records: V2Record[];
  asOf: Date;
}

/** How far back a day without a publication looks for the last one (lib/carry_forward.rb, LOOKBACK_DAYS). */
const LOOKBACK_DAYS = 14;
/** Each part of a range is read on its own, so a long range never sits in memory (rate_query.rb, each_chunk). */
const CHUNK_MONTHS = { day: 3, week: 21, month: 84 };

/** A day n days away, kept within the calendar's days. */
function shift(day: string, days: number): string {
  if (days < 0 && day < addDays(FIRST_DAY, -days)) return FIRST_DAY;
  if (days > 0 && day > addDays(LAST_DAY, -days)) return LAST_DAY;
  return addDays(day, days);
}

/**
 * The answer's records, one publishing day (or bucket) at a time, in date order. The source answering is fxpipe's
 * preferred one (the same choice as the v1 family: published.ts), among the `providers` named when there are some.
 */
export async function* rateBatches(db: Db, q: RateQuery, allSources: () => Promise<string[]>): AsyncGenerator<Batch> {
  const named = q.providers === null ? null : q.providers.map(sourceOfKey);
  const listed = q.expandProviders ? (named ?? (await allSources())) : null;
  const shape = (beside: Shape['beside']): Shape => ({
    base: q.base,
    quotes: q.quotes,
    passthrough: isPassthrough(q),
    beside,
    passthroughSource: isPassthrough(q) ? named![0]! : null,
  });

  if (!isRange(q)) {
    const day = await publishedOn(db, { source: named, day: q.date });
    if (!day) return;
    let beside: Shape['beside'] = null;
    if (listed) {
      const days = await Promise.all(listed.map((source) => publishedOn(db, { source, day: q.date })));
      const snapshots = days.flatMap((d) => (d ? [daySnapshot(d)] : []));
      beside = () => snapshots;
    }
    yield { records: snapshotRecords(daySnapshot(day), shape(beside)), asOf: day.asOf };
    return;
  }

  const [from, to] = [q.from!, rangeEnd(q)];
  if (from > to) return;
  const source = (await preferredSourceBetween(db, named, from, to)) ?? (await publishedOn(db, { source: named, day: from }))?.source;
  if (!source) return;
  const rollup = isRollup(q) ? q.group! : null;
  for (let start = from; start <= to;) {
    const end = [addDays(addMonths(start, CHUNK_MONTHS[rollup ?? 'day']), -1), to].sort()[0]!;
    const first = start === from;
    if (rollup) yield* bucketBatches(db, source, listed, rollup, { start, end, first, from }, shape);
    else yield* dayBatches(db, source, listed, { start, end, first, from }, shape);
    if (end >= to) break;
    start = addDays(end, 1);
  }
}

interface Chunk {
  start: string;
  end: string;
  /** The range's first part: the one that looks back for the last publication (or bucket) before `from`. */
  first: boolean;
  from: string;
}

/**
 * Each publishing day of the part; the first part opens, when `from` itself has no publication, on the last one before
 * it within the lookback (rate_query.rb, each_daily_range: the range's start anchors the carry-forward).
 */
async function* dayBatches(
  db: Db,
  source: string,
  listed: string[] | null,
  chunk: Chunk,
  shape: (b: Shape['beside']) => Shape,
): AsyncGenerator<Batch> {
  const days = (await publishedBetween(db, source, chunk.start, chunk.end))?.days ?? [];
  if (chunk.first && days[0]?.date !== chunk.from) {
    const before = await publishedOn(db, { source, day: chunk.from });
    if (before && before.date < chunk.from && before.date >= shift(chunk.from, -LOOKBACK_DAYS)) days.unshift(before);
  }
  if (days.length === 0) return;
  let beside: Shape['beside'] = null;
  if (listed) {
    const since = shift(days[0]!.date, -LOOKBACK_DAYS);
    const bySource = await Promise.all(
      listed.map(async (s) => ((await publishedBetween(db, s, since, chunk.end))?.days ?? []).map(daySnapshot)),
    );
    beside = (date) =>
      bySource.flatMap((snapshots) => {
        const last = snapshots.filter((s) => s.date <= date).at(-1);
        return last && last.date >= shift(date, -LOOKBACK_DAYS) ? [last] : [];
      });
  }
  for (const day of days) yield { records: snapshotRecords(daySnapshot(day), shape(beside)), asOf: day.asOf };
}

/**
 * The part's buckets (bucket dates from start to end), each from all of its days; the first part opens on the nearest
 * bucket dated on or before `from` (lib/rate_scopes.rb, between), looked for within a bucket's span before it.
 */
async function* bucketBatches(
  db: Db,
  source: string,
  listed: string[] | null,
  group: 'week' | 'month',
  chunk: Chunk,
  shape: (b: Shape['beside']) => Shape,
): AsyncGenerator<Batch> {
  // A week bucket holds days from 7 before its date to 5 after it; a month bucket its month.
  const earliest =
    group === 'week' ? shift(chunk.start, chunk.first ? -2 * 7 : 0) : chunk.first ? addMonths(monthBucket(chunk.start), -1) : chunk.start;
  const [fetchFrom, fetchTo] =
    group === 'week' ? [shift(earliest, -7), shift(chunk.end, 6)] : [earliest, addDays(addMonths(monthBucket(chunk.end), 1), -1)];
  const bucketsOf = async (s: string) => {
    const days: PublishedDay[] = (await publishedBetween(db, s, fetchFrom, fetchTo))?.days ?? [];
    return { buckets: bucketSnapshots(days, group), lastAsOf: new Map(days.map((d) => [bucketDate(d.date, group), d.asOf])) };
  };
  const { buckets, lastAsOf } = await bucketsOf(source);
  let opening = chunk.start;
  if (chunk.first) opening = buckets.filter((b) => b.date >= earliest && b.date <= chunk.from).at(-1)?.date ?? chunk.from;
  const wanted = buckets.filter((b) => b.date >= opening && b.date <= chunk.end);
  if (wanted.length === 0) return;
  let beside: Shape['beside'] = null;
  if (listed) {
    const bySource = await Promise.all(
      listed.map(async (s) => new Map((await bucketsOf(s)).buckets.map((b) => [b.date, b] as [string, Snapshot]))),
    );
    beside = (date) => bySource.flatMap((byDate) => (byDate.has(date) ? [byDate.get(date)!] : []));
  }
  for (const bucket of wanted) yield { records: snapshotRecords(bucket, shape(beside)), asOf: lastAsOf.get(bucket.date)! };
}

const bucketDate = (day: string, group: 'week' | 'month') => (group === 'week' ? weekBucket(day) : monthBucket(day));
