import { RateDecimal, derivedRateText } from '../../transform/decimal.js';
import { coldDailyRows, type DailyRow, type Leg } from '../../tiers/cold-daily.js';
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

const keyOf = (day: string) => Number(day.replaceAll('-', ''));
const dayOf = (key: number) => `${String(key).slice(0, 4)}-${String(key).slice(4, 6)}-${String(key).slice(6, 8)}`;

/**
 * A pair's daily (or monthly) rates over [from, to], hot months from PostgreSQL's daily aggregates and archived
 * ones from their Parquet files. Stored rates are USD-based: USD/X is the provider's values exactly; X/USD is
 * their inverse and X/Y the quotient of the two legs, to 15 significant digits (as api.cross_rates).
 */
export async function pairHistory(
  db: Db, pair: { base: string; quote: string }, range: { from: string; to: string }, interval: Interval, source: string | null, cacheDir: string,
): Promise<History> {
  if (range.from > range.to) throw badParameter('from', `${range.from} is after to=${range.to}`);
  await requireKnown(db, 'pair', [pair.base, pair.quote]);
  const sources: Record<string, string> = {};
  for (const leg of [pair.base, pair.quote].filter((code) => code !== 'USD')) {
    const legSource = source ?? (await preferredSource(db, leg));
    if (!legSource) throw badParameter('pair', `no rates stored for ${leg}`);
    sources[leg] = legSource;
  }
  const series = await legDays(db, Object.entries(sources).map(([quote, s]) => ({ quote, source: s })), keyOf(range.from), keyOf(range.to), cacheDir);
  const days = combine(pair, series);
  return { pair: `${pair.base}/${pair.quote}`, ...range, interval, sources, points: interval === 'day' ? days : byMonth(days) };
}

async function preferredSource(db: Db, quote: string): Promise<string | null> {
  const [row] = await db.query<{ source: string }>(`select source from api.latest_rates where base = 'USD' and quote = $1 and preferred`, [quote]);
  return row?.source ?? null;
}

type Day = DailyRow & { tier: 'hot' | 'cold' };

/** Each leg's days: archived months from Parquet (one reading for all legs), the others from api.daily_rates. */
async function legDays(db: Db, legs: Leg[], fromKey: number, toKey: number, cacheDir: string): Promise<Map<string, Map<number, Day>>> {
  const cold = await coldDailyRows(db, legs, fromKey, toKey, cacheDir);
  const coldMonths = cold.months.map((m) => Number(m.replace('-', '')));
  const series = new Map<string, Map<number, Day>>();
  for (const { quote, source } of legs) {
    const hot = await db.query<{ date_key: number; open: string; high: string; low: string; close: string; observations: number }>(
      `select date_key, open::text as open, high::text as high, low::text as low, close::text as close, observations::int as observations
         from api.daily_rates
        where base = 'USD' and quote = $1 and source = $2 and date_key between $3 and $4 and not (date_key / 100 = any($5::int[]))
        order by date_key`,
      [quote, source, fromKey, toKey, coldMonths],
    );
    const days = new Map<number, Day>();
    for (const r of cold.rows.get(quote) ?? []) days.set(r.dateKey, { ...r, tier: 'cold' });
    for (const r of hot) days.set(r.date_key, { dateKey: r.date_key, open: r.open, high: r.high, low: r.low, close: r.close, observations: r.observations, tier: 'hot' });
    series.set(quote, days);
  }
  return series;
}

function combine(pair: { base: string; quote: string }, series: Map<string, Map<number, Day>>): HistoryPoint[] {
  const quoteLeg = series.get(pair.quote);
  const baseLeg = series.get(pair.base);
  const keys = [...(quoteLeg ?? baseLeg)!.keys()].filter((k) => (!quoteLeg || quoteLeg.has(k)) && (!baseLeg || baseLeg.has(k))).sort((a, b) => a - b);
  return keys.map((key) => {
    const q = quoteLeg?.get(key);
    const b = baseLeg?.get(key);
    const tier = q?.tier === 'cold' || b?.tier === 'cold' ? 'cold' : 'hot';
    if (q && !b) return { date: dayOf(key), open: q.open, high: q.high, low: q.low, close: q.close, observations: q.observations, tier };
    const ratio = (num: string | null, den: string) => derivedRateText(new RateDecimal(num ?? 1).div(new RateDecimal(den)));
    if (b && !q) {
      // USD per unit of base: the inverse, so high and low swap.
      return { date: dayOf(key), open: ratio(null, b.open), high: ratio(null, b.low), low: ratio(null, b.high), close: ratio(null, b.close), observations: b.observations, tier };
    }
    return {
      date: dayOf(key), open: ratio(q!.open, b!.open), high: null, low: null, close: ratio(q!.close, b!.close),
      observations: Math.min(q!.observations, b!.observations), tier,
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
    if (d.tier === 'cold') m.tier = 'cold';
  }
  return [...months.values()];
}
