import { Decimal } from 'decimal.js';

/**
 * The read models recomputed from scratch, in TypeScript, from the publications a test loaded and the definitions of
 * docs/schema.md ("Rates in force", "Read models") — never from the warehouse's history or its functions.
 */

export const D = Decimal.clone({ precision: 60, rounding: Decimal.ROUND_HALF_UP });
export type D = InstanceType<typeof D>;

const DAY_MS = 86_400_000;

/** One as-of of a source: its instant (ms) and the USD-based value of each pair it carried. */
export interface OraclePublication {
  asOf: number;
  values: ReadonlyMap<string, string>;
}

export interface OracleDaily {
  /** yyyymmdd (UTC). */
  dateKey: number;
  quote: string;
  open: D;
  high: D;
  low: D;
  close: D;
  average: D;
  stddev: D | null;
  observations: number;
  carried: boolean;
  changes: number;
  inForceFrom: number;
  inForceTo: number;
  closeAsOf: number;
}

export interface OracleMonthly {
  /** yyyymm. */
  monthKey: number;
  quote: string;
  open: D;
  high: D;
  low: D;
  close: D;
  average: D;
  stddev: D | null;
  volatilityPct: D | null;
  observations: number;
  publishingDays: number;
  daysInForce: number;
}

export const dateKeyOf = (ms: number): number => Number(new Date(ms).toISOString().slice(0, 10).replaceAll('-', ''));
const dayStart = (ms: number): number => Math.floor(ms / DAY_MS) * DAY_MS;
export const dailyKey = (dateKey: number, quote: string): string => `${dateKey} ${quote}`;
export const monthlyKey = (monthKey: number, quote: string): string => `${monthKey} ${quote}`;
export const historyKey = (quote: string, asOf: number): string => `${quote}@${asOf}`;

const byAsOf = (pubs: Iterable<OraclePublication>): OraclePublication[] => [...pubs].sort((a, b) => a.asOf - b.asOf);

/**
 * The stretch each publication puts its pairs in force over: [p, min(next publication, p + max age)), and through the
 * end of its UTC day only for the source's latest publication (rows exist through the day of the latest publication).
 */
function stretches(pubs: OraclePublication[], maxAgeMs: number): { pub: OraclePublication; from: number; to: number }[] {
  return pubs.map((pub, i) => {
    const next = pubs[i + 1];
    const to = Math.min(next ? next.asOf : Infinity, pub.asOf + maxAgeMs, next ? Infinity : dayStart(pub.asOf) + DAY_MS);
    return { pub, from: pub.asOf, to };
  });
}

/** The value of a pair in force at t (null when none): the latest publication at or before t, if it carried the pair and is at most maxAge old. */
export function inForceAt(
  pubs: Iterable<OraclePublication>,
  quote: string,
  at: number,
  maxAgeMs: number,
): { value: string; asOf: number } | null {
  let latest: OraclePublication | null = null;
  for (const pub of pubs) if (pub.asOf <= at && (!latest || pub.asOf > latest.asOf)) latest = pub;
  if (!latest || at - latest.asOf > maxAgeMs) return null;
  const value = latest.values.get(quote);
  return value === undefined ? null : { value, asOf: latest.asOf };
}

/**
 * rates_daily of one source by (dateKey, quote). history holds the source's stored history rows as historyKey(quote,
 * asOf): `changes` counts them per day.
 */
export function dailyRows(
  publications: Iterable<OraclePublication>,
  maxAgeMs: number,
  history: ReadonlySet<string>,
): Map<string, OracleDaily> {
  const pieces = new Map<string, { from: number; to: number; value: D; pubAt: number }[]>();
  for (const { pub, from, to } of stretches(byAsOf(publications), maxAgeMs)) {
    for (const [quote, text] of pub.values) {
      const value = new D(text);
      for (let day = dayStart(from); day < to; day += DAY_MS) {
        const pieceFrom = Math.max(from, day);
        const pieceTo = Math.min(to, day + DAY_MS);
        if (pieceTo <= pieceFrom) continue;
        const key = dailyKey(dateKeyOf(day), quote);
        pieces.set(key, [...(pieces.get(key) ?? []), { from: pieceFrom, to: pieceTo, value, pubAt: pub.asOf }]);
      }
    }
  }
  const changesPerDay = new Map<string, number>();
  for (const key of history) {
    const [quote = '', at = ''] = key.split('@');
    const day = dailyKey(dateKeyOf(Number(at)), quote);
    changesPerDay.set(day, (changesPerDay.get(day) ?? 0) + 1);
  }
  const rows = new Map<string, OracleDaily>();
  for (const [key, list] of pieces) {
    list.sort((a, b) => a.from - b.from);
    const [dateKey = '', quote = ''] = key.split(' ');
    const start = list[0]!;
    const end = list.at(-1)!;
    const dayBegins = dayStart(start.from);
    let weighted = new D(0);
    let duration = 0;
    for (const piece of list) {
      weighted = weighted.plus(piece.value.times(piece.to - piece.from));
      duration += piece.to - piece.from;
    }
    const distinct = uniqueValues(list.map((piece) => piece.value));
    const observations = new Set(list.filter((piece) => piece.pubAt >= dayBegins).map((piece) => piece.pubAt)).size;
    rows.set(key, {
      dateKey: Number(dateKey),
      quote,
      open: start.value,
      close: end.value,
      high: D.max(...list.map((piece) => piece.value)),
      low: D.min(...list.map((piece) => piece.value)),
      average: weighted.div(duration),
      stddev: sampleStddev(distinct),
      observations,
      carried: observations === 0,
      changes: changesPerDay.get(key) ?? 0,
      inForceFrom: start.from,
      inForceTo: Math.max(...list.map((piece) => piece.to)),
      closeAsOf: end.pubAt,
    });
  }
  return rows;
}

/** rates_monthly from daily rows: the month's days, its average and stddev over the closes of its publishing days (all days when it has none). */
export function monthlyRows(daily: Iterable<OracleDaily>): Map<string, OracleMonthly> {
  const months = new Map<string, OracleDaily[]>();
  for (const row of daily) {
    const key = monthlyKey(Math.floor(row.dateKey / 100), row.quote);
    months.set(key, [...(months.get(key) ?? []), row]);
  }
  const rows = new Map<string, OracleMonthly>();
  for (const [key, days] of months) {
    days.sort((a, b) => a.dateKey - b.dateKey);
    const publishing = days.filter((day) => day.observations > 0);
    const closes = (publishing.length > 0 ? publishing : days).map((day) => day.close);
    const average = closes.reduce((sum, close) => sum.plus(close), new D(0)).div(closes.length);
    const stddev = sampleStddev(closes);
    rows.set(key, {
      monthKey: Math.floor(days[0]!.dateKey / 100),
      quote: days[0]!.quote,
      open: days[0]!.open,
      close: days.at(-1)!.close,
      high: D.max(...days.map((day) => day.high)),
      low: D.min(...days.map((day) => day.low)),
      average,
      stddev,
      volatilityPct: stddev === null ? null : stddev.div(average).times(100),
      observations: days.reduce((n, day) => n + day.observations, 0),
      publishingDays: publishing.length,
      daysInForce: days.length,
    });
  }
  return rows;
}

function uniqueValues(values: D[]): D[] {
  const seen = new Map<string, D>();
  for (const value of values) seen.set(value.toFixed(), value);
  return [...seen.values()];
}

function sampleStddev(values: D[]): D | null {
  if (values.length < 2) return null;
  const mean = values.reduce((sum, v) => sum.plus(v), new D(0)).div(values.length);
  return values
    .reduce((sum, v) => sum.plus(v.minus(mean).pow(2)), new D(0))
    .div(values.length - 1)
    .sqrt();
}

/**
 * The change rule of docs/schema.md applied to one load of publication `loaded` into the source's publications
 * (`all`, including it): a pair's value is stored when it starts a stretch in force (the publication before left the
 * pair out or is older than the maximum age) or differs from the value before it; then the next publication's values
 * without a row are decided again against it. Adds the rows to `history` (rows are never removed).
 */
export function applyChangeRule(all: Iterable<OraclePublication>, loaded: OraclePublication, maxAgeMs: number, history: Set<string>): void {
  const pubs = byAsOf(all);
  const i = pubs.findIndex((pub) => pub.asOf === loaded.asOf);
  const wanted = (previous: OraclePublication | undefined, pub: OraclePublication, quote: string): boolean => {
    const before = previous?.values.get(quote);
    if (!previous || before === undefined || pub.asOf - previous.asOf > maxAgeMs) return true;
    return !new D(before).eq(new D(pub.values.get(quote)!));
  };
  for (const quote of loaded.values.keys()) if (wanted(pubs[i - 1], loaded, quote)) history.add(historyKey(quote, loaded.asOf));
  const next = pubs[i + 1];
  if (!next) return;
  for (const quote of next.values.keys()) {
    if (!history.has(historyKey(quote, next.asOf)) && wanted(loaded, next, quote)) history.add(historyKey(quote, next.asOf));
  }
}

/** Agreement to about 15 significant digits, within 1e-14 of scale (PostgreSQL's numeric division keeps at least 16). */
export function closeEnough(actual: D, expected: D, scale: D = expected): boolean {
  return actual.minus(expected).abs().lte(scale.abs().times('1e-14').plus('1e-40'));
}
