import { addDays, weekdayOf } from '../../calendar/days.js';
import { RateDecimal, derivedRateText } from '../../transform/decimal.js';
import type { Db } from '../../warehouse/db.js';
import { badParameter } from '../http-error.js';
import { requireKnown } from './currencies.js';

export type Interval = 'day' | 'week' | 'month';
export const INTERVALS: readonly Interval[] = ['day', 'week', 'month'];

/** Days of a leg read per query: a long range is read a page at a time, its points given as they are read. */
const PAGE_DAYS = 1000;

export interface HistoryPoint {
  /** The day, the week's Monday (ISO 8601 weeks), or the month's first day. */
  date: string;
  open: string;
  /** Null for a cross pair: the legs' daily extremes need not coincide, so its own are unknown. */
  high: string | null;
  low: string | null;
  close: string;
  observations: number;
  /** No new value that day (every day of the week or month): the rate in force carried from before. */
  carried: boolean;
  /**
   * Whether the history rows are in PostgreSQL or archived to Parquet (any day's, for a week or month); the aggregates
   * stay in PostgreSQL.
   */
  tier: 'hot' | 'cold';
}

export interface History {
  pair: string;
  from: string;
  to: string;
  interval: Interval;
  /** The source each USD leg was read from. */
  sources: Record<string, string>;
  points: HistoryPoint[];
}

type Day = {
  open: string;
  high: string;
  low: string;
  close: string;
  observations: number;
  carried: boolean;
};

/** A history request checked, with the source of each USD leg and the archived months: what its points are read from. */
export interface HistoryPlan {
  base: string;
  quote: string;
  from: string;
  to: string;
  interval: Interval;
  sources: Record<string, string>;
  /** The months (YYYY-MM) over the range whose history is archived to Parquet. */
  archived: Set<string>;
}

/**
 * A pair's daily (weekly, monthly) rates over [from, to] from PostgreSQL's daily aggregates (api.daily_rates), which
 * cover archived months as well as hot ones. Stored rates are USD-based: USD/X is the provider's values exactly;
 * X/USD is their inverse and X/Y the quotient of the two legs, to 15 significant digits (as api.cross_rates).
 */
export async function pairHistory(
  db: Db,
  pair: { base: string; quote: string },
  range: { from: string; to: string },
  interval: Interval,
  source: string | null,
): Promise<History> {
  const plan = await planHistory(db, pair, range, interval, source);
  const points: HistoryPoint[] = [];
  for await (const point of historyPoints(db, plan)) points.push(point);
  return { pair: `${pair.base}/${pair.quote}`, ...range, interval, sources: plan.sources, points };
}

/** Checks a history request (a bad one is a 400 naming its parameter) and chooses each leg's source. */
export async function planHistory(
  db: Db,
  pair: { base: string; quote: string },
  range: { from: string; to: string },
  interval: Interval,
  source: string | null,
): Promise<HistoryPlan> {
  if (range.from > range.to) throw badParameter('from', `${range.from} is after to=${range.to}`);
  await requireKnown(db, 'pair', [pair.base, pair.quote]);
  const sources: Record<string, string> = {};
  for (const leg of [pair.base, pair.quote].filter((code) => code !== 'USD')) {
    const legSource = source ?? (await legSourceOf(db, leg));
    if (!legSource) throw badParameter('pair', `no rates stored for ${leg}`);
    sources[leg] = legSource;
  }
  return { ...pair, ...range, interval, sources, archived: await archivedMonths(db, range) };
}

/**
 * The plan's points in date order, read PAGE_DAYS stored days at a time (the first leg's; the other leg's over the same
 * dates): memory stays bounded by a page whatever the range, and a range of empty years costs nothing. Each page is its
 * own query, so a run committing meanwhile may show in the pages after it.
 */
export async function* historyPoints(db: Db, plan: HistoryPlan, pageDays = PAGE_DAYS): AsyncGenerator<HistoryPoint> {
  const start = PERIOD_START[plan.interval];
  yield* start ? byPeriod(days(db, plan, pageDays), start) : days(db, plan, pageDays);
}

async function* days(db: Db, plan: HistoryPlan, pageDays: number): AsyncGenerator<HistoryPoint> {
  const [[lead, leadSource], ...others] = Object.entries(plan.sources) as [[string, string], ...[string, string][]];
  for (let from = plan.from; ;) {
    const leadDays = await legDays(db, lead, leadSource, { from, to: plan.to }, pageDays);
    const last = [...leadDays.keys()].at(-1);
    if (last === undefined) return;
    const series = new Map([[lead, leadDays]]);
    for (const [quote, source] of others) series.set(quote, await legDays(db, quote, source, { from, to: last }));
    for (const day of combine(plan, series)) yield { ...day, tier: plan.archived.has(day.date.slice(0, 7)) ? 'cold' : 'hot' };
    if (leadDays.size < pageDays || last >= plan.to) return;
    from = addDays(last, 1);
  }
}

/** The leg's preferred source; for a currency no source has in force now (retired, stale), its best-ranked one. */
export async function legSourceOf(db: Db, quote: string): Promise<string | null> {
  const [row] = await db.query<{ source: string }>(
    `select source from api.latest_rates where base = 'USD' and quote = $1
      order by preferred desc, api.source_rank(source_tier), as_of desc limit 1`,
    [quote],
  );
  return row?.source ?? null;
}

async function legDays(
  db: Db,
  quote: string,
  source: string,
  range: { from: string; to: string },
  limit?: number,
): Promise<Map<string, Day>> {
  const rows = await db.query<Day & { date: string }>(
    `select to_char(date, 'YYYY-MM-DD') as date, open::text as open, high::text as high, low::text as low, close::text as close,
            observations::int as observations, carried
       from api.daily_rates
      where base = 'USD' and quote = $1 and source = $2 and date between $3::date and $4::date
      order by date
      limit $5`,
    [quote, source, range.from, range.to, limit ?? null],
  );
  return new Map(rows.map(({ date, ...day }) => [date, day]));
}

/** The months (YYYY-MM) over the range whose history is archived to Parquet. */
async function archivedMonths(db: Db, range: { from: string; to: string }): Promise<Set<string>> {
  const rows = await db.query<{ month: string }>(
    `select to_char(month, 'YYYY-MM') as month from archive_manifest
      where state = 'archived' and month between date_trunc('month', $1::date) and $2::date`,
    [range.from, range.to],
  );
  return new Set(rows.map((r) => r.month));
}

function combine(pair: { base: string; quote: string }, series: Map<string, Map<string, Day>>): Omit<HistoryPoint, 'tier'>[] {
  const quoteLeg = series.get(pair.quote);
  const baseLeg = series.get(pair.base);
  const dates = [...(quoteLeg ?? baseLeg)!.keys()].filter((d) => (!quoteLeg || quoteLeg.has(d)) && (!baseLeg || baseLeg.has(d))).sort();
  return dates.map((date) => {
    const q = quoteLeg?.get(date);
    const b = baseLeg?.get(date);
    if (q && !b) return { date, ...q };
    const ratio = (num: string | null, den: string) => derivedRateText(new RateDecimal(num ?? 1).div(new RateDecimal(den)));
    if (b && !q) {
      // USD per unit of base: the inverse, so high and low swap.
      return {
        date,
        open: ratio(null, b.open),
        high: ratio(null, b.low),
        low: ratio(null, b.high),
        close: ratio(null, b.close),
        observations: b.observations,
        carried: b.carried,
      };
    }
    return {
      date,
      open: ratio(q!.open, b!.open),
      high: null,
      low: null,
      close: ratio(q!.close, b!.close),
      observations: Math.min(q!.observations, b!.observations),
      carried: q!.carried && b!.carried,
    };
  });
}

/** The first day of the period a day is in, for the intervals that aggregate days: ISO 8601 weeks start on Monday. */
const PERIOD_START: Partial<Record<Interval, (day: string) => string>> = {
  week: (day) => addDays(day, -((weekdayOf(day) + 6) % 7)),
  month: (day) => `${day.slice(0, 7)}-01`,
};

/**
 * Days (in date order) aggregated by period: the first day's open, the highest high and lowest low (unknown when the
 * days' are), the last day's close, observations summed, carried when every day was, cold when any day is archived.
 */
async function* byPeriod(days: AsyncIterable<HistoryPoint>, periodStart: (day: string) => string): AsyncGenerator<HistoryPoint> {
  let period: HistoryPoint | undefined;
  for await (const d of days) {
    const date = periodStart(d.date);
    if (period?.date !== date) {
      if (period) yield period;
      period = { ...d, date };
      continue;
    }
    if (d.high !== null && period.high !== null && new RateDecimal(d.high).gt(period.high)) period.high = d.high;
    if (d.low !== null && period.low !== null && new RateDecimal(d.low).lt(period.low)) period.low = d.low;
    period.close = d.close;
    period.observations += d.observations;
    period.carried &&= d.carried;
    if (d.tier === 'cold') period.tier = 'cold';
  }
  if (period) yield period;
}
