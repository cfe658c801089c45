import { RateDecimal, derivedRateText } from '../../transform/decimal.js';
import type { Db } from '../../warehouse/db.js';
import { badParameter } from '../http-error.js';
import { requireKnown } from './currencies.js';

export type Interval = 'day' | 'month';
export const INTERVALS: readonly Interval[] = ['day', 'month'];

export interface HistoryPoint {
  /** The day, or the month's first day. */
  date: string;
  open: string;
  /** Null for a cross pair: the legs' daily extremes need not coincide, so its own are unknown. */
  high: string | null;
  low: string | null;
  close: string;
  observations: number;
  /** No new value that day (every day of the month): the rate in force carried from before. */
  carried: boolean;
  /** Whether the month's history rows are in PostgreSQL or archived to Parquet (its aggregates stay in PostgreSQL). */
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

/**
 * A pair's daily (or monthly) rates over [from, to] from PostgreSQL's daily aggregates (api.daily_rates), which
 * cover archived months as well as hot ones. Stored rates are USD-based: USD/X is the provider's values exactly;
 * X/USD is their inverse and X/Y the quotient of the two legs, to 15 significant digits (as api.cross_rates).
 */
export async function pairHistory(
  db: Db, pair: { base: string; quote: string }, range: { from: string; to: string }, interval: Interval, source: string | null,
): Promise<History> {
  if (range.from > range.to) throw badParameter('from', `${range.from} is after to=${range.to}`);
  await requireKnown(db, 'pair', [pair.base, pair.quote]);
  const sources: Record<string, string> = {};
  for (const leg of [pair.base, pair.quote].filter((code) => code !== 'USD')) {
    const legSource = source ?? (await legSourceOf(db, leg));
    if (!legSource) throw badParameter('pair', `no rates stored for ${leg}`);
    sources[leg] = legSource;
  }
  const series = new Map<string, Map<string, Day>>();
  for (const [quote, legSource] of Object.entries(sources)) series.set(quote, await legDays(db, quote, legSource, range));
  const archived = await archivedMonths(db, range);
  const days = combine(pair, series).map((d) => ({ ...d, tier: archived.has(d.date.slice(0, 7)) ? ('cold' as const) : ('hot' as const) }));
  return { pair: `${pair.base}/${pair.quote}`, ...range, interval, sources, points: interval === 'day' ? days : byMonth(days) };
}

/** The leg's preferred source; for a currency no source has in force now (retired, stale), its best-ranked one. */
async function legSourceOf(db: Db, quote: string): Promise<string | null> {
  const [row] = await db.query<{ source: string }>(
    `select source from api.latest_rates where base = 'USD' and quote = $1
      order by preferred desc, api.source_rank(source_tier), as_of desc limit 1`,
    [quote],
  );
  return row?.source ?? null;
}

async function legDays(db: Db, quote: string, source: string, range: { from: string; to: string }): Promise<Map<string, Day>> {
  const rows = await db.query<Day & { date: string }>(
    `select to_char(date, 'YYYY-MM-DD') as date, open::text as open, high::text as high, low::text as low, close::text as close,
            observations::int as observations, carried
       from api.daily_rates
      where base = 'USD' and quote = $1 and source = $2 and date between $3::date and $4::date
      order by date`,
    [quote, source, range.from, range.to],
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
      return { date, open: ratio(null, b.open), high: ratio(null, b.low), low: ratio(null, b.high), close: ratio(null, b.close), observations: b.observations, carried: b.carried };
    }
    return {
      date, open: ratio(q!.open, b!.open), high: null, low: null, close: ratio(q!.close, b!.close),
      observations: Math.min(q!.observations, b!.observations), carried: q!.carried && b!.carried,
    };
  });
}

function byMonth(days: HistoryPoint[]): HistoryPoint[] {
  const months = new Map<string, HistoryPoint>();
  for (const d of days) {
    const month = `${d.date.slice(0, 7)}-01`;
    const m = months.get(month);
    if (!m) {
      months.set(month, { ...d, date: month });
      continue;
    }
    if (d.high !== null && m.high !== null && new RateDecimal(d.high).gt(m.high)) m.high = d.high;
    if (d.low !== null && m.low !== null && new RateDecimal(d.low).lt(m.low)) m.low = d.low;
    m.close = d.close;
    m.observations += d.observations;
    m.carried &&= d.carried;
  }
  return [...months.values()];
}
