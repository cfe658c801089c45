import { dayOf, isCalendarDay } from '../../../calendar/days.js';
import { currencyInfo } from '../../../warehouse/currencies.js';

/**
 * A v2 `/rates` question, read and checked as Frankfurter's RateQuery does (lineofflight/frankfurter,
 * lib/versions/v2/rate_query.rb, validate!): unknown parameter, invalid date, conflicting params, invalid group, invalid
 * expand, invalid currency, then the daily range cap — each a 422 with Frankfurter's own message.
 */
export class V2Error extends Error {
  constructor(
    readonly status: 401 | 404 | 406 | 422,
    message: string,
  ) {
    super(message);
  }
}

export const notFound = () => new V2Error(404, 'not found');

export interface RateQuery {
  base: string;
  /** The quotes asked for (upper-cased), or null for every one. */
  quotes: string[] | null;
  /** Provider keys asked for (upper-cased), or null: fxpipe's preferred source answers. */
  providers: string[] | null;
  group: 'week' | 'month' | null;
  expandProviders: boolean;
  date: string | null;
  from: string | null;
  to: string | null;
}

/** Frankfurter's ALLOWED_PARAMS, and fxpipe's `token` (where a client that cannot set a header sends it). */
const ALLOWED = ['base', 'quotes', 'providers', 'date', 'from', 'to', 'group', 'expand', 'token'];
const ALLOWED_EXPANSIONS = ['providers'];
const MAX_DAILY_RANGE_YEARS = 5;
const MAX_DAILY_RANGE_QUOTES = 5;
const MAX_DAILY_RANGE_PROVIDERS = 5;

/** Ruby's String#split(','): trailing empty fields dropped, an empty string none at all. */
function rubySplit(text: string): string[] {
  const parts = text.split(',');
  while (parts.length > 0 && parts.at(-1) === '') parts.pop();
  return parts;
}

/**
 * A currency Frankfurter would know (Money::Currency.find: ISO 4217 and the common non-ISO codes): fxpipe's currency
 * list, ISO 4217 (currency-codes) and the runtime's CLDR names (GGP, IMP, …).
 */
export function knownCurrency(code: string): boolean {
  if (!/^[A-Z]{3}$/.test(code)) return false;
  const info = currencyInfo(code);
  return info.isIso || info.name !== code;
}

/**
 * The question in `params` (each name's last value, as Rack keeps it), in the order Frankfurter checks it. A day must be
 * written YYYY-MM-DD (Ruby's Date.parse reads more spellings; fxpipe reads the one every client sends).
 */
export function rateQuery(params: URLSearchParams, path: { base?: string; quotes?: string } = {}): RateQuery {
  const value = (name: string): string | undefined => (name in path ? path[name as keyof typeof path] : params.getAll(name).at(-1));
  const unknown = [...new Set(params.keys())].filter((name) => !ALLOWED.includes(name));
  if (unknown.length > 0) throw new V2Error(422, `unknown parameter: ${unknown.join(', ')}`);
  const [date, from, to] = ['date', 'from', 'to'].map((name) => {
    const text = value(name);
    if (text !== undefined && !isCalendarDay(text)) throw new V2Error(422, 'invalid date');
    return text ?? null;
  }) as [string | null, string | null, string | null];
  if (date !== null && (from !== null || to !== null)) throw new V2Error(422, 'conflicting params');
  const group = value('group')?.toLowerCase();
  if (group !== undefined && group !== 'week' && group !== 'month') throw new V2Error(422, 'invalid group');
  const expand = value('expand') === undefined ? null : rubySplit(value('expand')!.toLowerCase());
  const badExpand = expand?.filter((e) => !ALLOWED_EXPANSIONS.includes(e)) ?? [];
  if (badExpand.length > 0) throw new V2Error(422, `invalid expand: ${badExpand.join(',')}`);
  const base = value('base')?.toUpperCase() ?? 'EUR';
  const quotes = value('quotes') === undefined ? null : rubySplit(value('quotes')!.toUpperCase());
  const invalid = [
    ...(value('base') !== undefined && !knownCurrency(base) ? [base] : []),
    ...(quotes ?? []).filter((q) => !knownCurrency(q)),
  ];
  if (invalid.length > 0) throw new V2Error(422, `invalid currency: ${invalid.join(',')}`);
  const providers = value('providers') === undefined ? null : rubySplit(value('providers')!.toUpperCase());
  const query: RateQuery = {
    base,
    quotes,
    providers,
    group: group ?? null,
    expandProviders: expand?.includes('providers') ?? false,
    date,
    from,
    to,
  };
  checkRangeCost(query);
  return query;
}

export const isRange = (q: RateQuery): boolean => q.from !== null;
export const isRollup = (q: RateQuery): boolean => isRange(q) && q.group !== null;
/** A single provider's own digits are echoed, but only on daily rows (rate_query.rb, emit_records). */
export const isPassthrough = (q: RateQuery): boolean => q.providers?.length === 1 && !isRollup(q);
/** Anchored on today (latest, or a range without an end): what changes at UTC midnight (v2.rb, cache_control_for). */
export const isDateRelative = (q: RateQuery): boolean => q.date === null && !(q.from !== null && q.to !== null);
/** The range's last day: `to`, or today. */
export const rangeEnd = (q: RateQuery): string => q.to ?? dayOf(new Date());

/** rate_query.rb, validate_range_cost!: daily ranges that recompute per day (providers=, expand=providers) are capped. */
function checkRangeCost(q: RateQuery): void {
  if (!isRange(q) || isRollup(q) || (q.providers === null && !q.expandProviders)) return;
  const few = (list: string[] | null, most: number) => list !== null && new Set(list).size <= most;
  if (few(q.providers, MAX_DAILY_RANGE_PROVIDERS) && few(q.quotes, MAX_DAILY_RANGE_QUOTES)) return;
  const today = dayOf(new Date());
  const end = rangeEnd(q) < today ? rangeEnd(q) : today;
  if (end <= addMonths(q.from!, MAX_DAILY_RANGE_YEARS * 12)) return;
  throw new V2Error(
    422,
    `date range exceeds ${MAX_DAILY_RANGE_YEARS} years at daily granularity; ` +
      `filter with quotes= (${MAX_DAILY_RANGE_QUOTES} currencies or fewer), ` +
      'aggregate with group=week or group=month, or split the range into shorter requests',
  );
}

/** Ruby's Date#>>: months later, the day kept or brought back to the month's last. */
export function addMonths(day: string, months: number): string {
  const [year, month, date] = day.split('-').map(Number) as [number, number, number];
  const index = year * 12 + (month - 1) + months;
  const [y, m] = [Math.floor(index / 12), (index % 12) + 1];
  const last = new Date(Date.UTC(2000, m, 0)).getUTCDate() - (m === 2 && !isLeap(y) ? 1 : 0);
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(Math.min(date, last)).padStart(2, '0')}`;
}

const isLeap = (year: number) => year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
