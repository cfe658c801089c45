import { RateDecimal } from '../../../transform/decimal.js';
import { answeredRate, FRANKFURTER_ROUNDING, magnitudeRound } from '../numbers.js';
import { exactRate, type PublishedDay } from '../published.js';

/**
 * Frankfurter v2's records from fxpipe's stored publications (lineofflight/frankfurter, lib/versions/v2/rate_query.rb,
 * emit_records): one `{date, base, quote, rate}` per pair, the base's own identity record (rate 1), the quotes filter,
 * and `providers` beside each rate when expanded. Rates are written as Frankfurter's JSON writes its numbers: a Float
 * (`1.0`, `0.8623`) except a rounded rate above 5000, an Integer (lib/roundable.rb: `value.round`).
 */
export interface V2Record {
  date: string;
  base: string;
  quote: string;
  /** The number's text. */
  rate: string;
  providers?: ProviderRate[];
}

export interface ProviderRate {
  key: string;
  date: string;
  rate: string;
}

/** What a day's (or a bucket's) records are made of: a source's values in its own base, per code. */
export interface Snapshot {
  source: string;
  date: string;
  /** Any code → the exact base→quote rate on that snapshot, and whether the source published that very rate. */
  rate(base: string, quote: string): { rate: RateDecimal; published: boolean } | null;
  codes: readonly string[];
  /** The source's own digits for base→quote, when it published that rate: a daily snapshot only. */
  ownDigits?(base: string, quote: string): string;
}

/** A provider's key: its fxpipe source name, upper-cased (Frankfurter upper-cases the keys asked for). */
export const providerKey = (source: string): string => source.toUpperCase();
/** The fxpipe source a key names (source names are lower-case: dim_source's check). */
export const sourceOfKey = (key: string): string => key.toLowerCase();

/** A publishing day as a snapshot. */
export function daySnapshot(day: PublishedDay): Snapshot {
  return {
    source: day.source,
    date: day.date,
    codes: [...day.usd.keys()],
    rate: (base, quote) => exactRate(day, base, quote),
    ownDigits: (base, quote) => answeredRate(day, base, quote, '1', FRANKFURTER_ROUNDING)!,
  };
}

/** Ruby's Float#to_s for a decimal text: an integral value keeps `.0`. */
const floatText = (text: string): string => (/[.eE]/.test(text) ? text : `${text}.0`);

/** A computed rate, rounded as Frankfurter's Roundable rounds it, written as Frankfurter writes it. */
export function roundedText(value: RateDecimal): string {
  const rounded = magnitudeRound(value);
  return value.gt(5000) ? rounded : floatText(rounded);
}

/**
 * base→quote on a snapshot as v2 answers it: a single provider's own published digits (`providers=` naming one, on a
 * daily row) unrounded, every other rate rounded by the magnitude bands.
 */
function rateText(snapshot: Snapshot, base: string, quote: string, passthrough: boolean): string | null {
  const exact = snapshot.rate(base, quote);
  if (exact === null) return null;
  if (passthrough && exact.published && snapshot.ownDigits) return floatText(snapshot.ownDigits(base, quote));
  return roundedText(exact.rate);
}

export interface Shape {
  base: string;
  quotes: string[] | null;
  passthrough: boolean;
  /** The sources listed beside each rate (expand=providers): each one's snapshot at the record's date, or none. */
  beside: ((date: string) => Snapshot[]) | null;
  /** The source whose own digits pass through (the single provider asked for). */
  passthroughSource: string | null;
}

/** A snapshot's records, sorted by quote, the identity record among them; none when the base is not on it. */
export function snapshotRecords(snapshot: Snapshot, shape: Shape): V2Record[] {
  const { base, quotes } = shape;
  if (snapshot.rate(base, base) === null) return [];
  const records: V2Record[] = [];
  for (const quote of [...new Set(snapshot.codes)].sort()) {
    if (quote === base || (quotes !== null && !quotes.includes(quote))) continue;
    const rate = rateText(snapshot, base, quote, shape.passthrough);
    if (rate === null) continue;
    const record: V2Record = { date: snapshot.date, base, quote, rate };
    if (shape.beside) record.providers = besideRates(shape.beside(snapshot.date), base, quote, shape);
    records.push(record);
  }
  // The identity record (#538), subject to the quotes filter, dated as the newest record; no providers of its own.
  if (quotes === null || quotes.includes(base)) {
    const date =
      records
        .map((r) => r.date)
        .sort()
        .at(-1) ?? snapshot.date;
    records.push({ date, base, quote: base, rate: '1.0' });
    records.sort((a, b) => (a.quote < b.quote ? -1 : a.quote > b.quote ? 1 : 0));
  }
  return records;
}

function besideRates(snapshots: Snapshot[], base: string, quote: string, shape: Shape): ProviderRate[] {
  return snapshots
    .flatMap((s) => {
      const rate = rateText(s, base, quote, shape.passthrough && s.source === shape.passthroughSource);
      return rate === null ? [] : [{ key: providerKey(s.source), date: s.date, rate }];
    })
    .sort((a, b) => (a.key < b.key ? -1 : 1));
}

/**
 * Frankfurter's week bucket (lib/bucket.rb, SQLite): 1 January plus 7 × strftime('%W') days, %W the week of the year
 * with weeks starting on Monday (days before the year's first Monday: week 0). Not always a Monday: 2025's buckets
 * fall on Wednesdays.
 */
export function weekBucket(day: string): string {
  const at = new Date(`${day}T00:00:00Z`);
  const yearStart = Date.UTC(at.getUTCFullYear(), 0, 1);
  const yearDay = Math.round((at.getTime() - yearStart) / 86_400_000);
  const mondayBased = (at.getUTCDay() + 6) % 7;
  const week = Math.floor((yearDay + 7 - mondayBased) / 7);
  return new Date(yearStart + week * 7 * 86_400_000).toISOString().slice(0, 10);
}

/** Frankfurter's month bucket: strftime('%Y-%m-01'). */
export const monthBucket = (day: string): string => `${day.slice(0, 7)}-01`;

/**
 * Buckets of one source's days, as Frankfurter's weekly_rates/monthly_rates hold them (lib/tasks/rollups.rake): per
 * bucket and code, the average of the source's own published values (its own base, `avg(rate)`) over the bucket's days
 * that have the code — here in exact decimals. A cross rate is then worked out from the averages, as Frankfurter's
 * blend does from the bucket rows.
 */
export function bucketSnapshots(days: PublishedDay[], group: 'week' | 'month'): Snapshot[] {
  const bucketOf = group === 'week' ? weekBucket : monthBucket;
  const buckets = new Map<string, { source: string; base: string; sums: Map<string, { sum: RateDecimal; n: number }> }>();
  for (const day of days) {
    const date = bucketOf(day.date);
    let bucket = buckets.get(date);
    if (!bucket) buckets.set(date, (bucket = { source: day.source, base: day.base, sums: new Map() }));
    for (const code of day.usd.keys()) {
      const own = exactRate(day, day.base, code);
      if (own === null) continue;
      const entry = bucket.sums.get(code) ?? { sum: new RateDecimal(0), n: 0 };
      bucket.sums.set(code, { sum: entry.sum.plus(own.rate), n: entry.n + 1 });
    }
  }
  return [...buckets]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([date, bucket]) => {
      const average = (code: string) => {
        const entry = bucket.sums.get(code);
        return entry ? entry.sum.div(entry.n) : null;
      };
      return {
        source: bucket.source,
        date,
        codes: [...bucket.sums.keys()],
        rate: (base: string, quote: string) => {
          const [toBase, toQuote] = [average(base), average(quote)];
          return toBase === null || toQuote === null ? null : { rate: toQuote.div(toBase), published: false };
        },
      };
    });
}
