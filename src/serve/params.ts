import { badParameter } from './http-error.js';

/** Query-string parsing for the JSON API: every failure is a 400 naming the parameter. */
type Query = Record<string, string | undefined>;

const CODE = /^[A-Z]{3}$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;
/** An ISO-8601 instant (or a day): 2024-03-01, 2024-03-01T12:00Z, 2024-03-01T12:00:00.000+01:00. */
const INSTANT = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:?\d{2}))?$/;
const AMOUNT = /^-?\d{1,20}(?:\.\d{1,20})?$/;

export function required(query: Query, name: string): string {
  const value = query[name];
  if (value === undefined || value.trim() === '') throw badParameter(name, 'required');
  return value.trim();
}

export function currency(query: Query, name: string, fallback?: string): string {
  const raw = query[name] === undefined && fallback ? fallback : required(query, name);
  const code = raw.toUpperCase();
  if (!CODE.test(code)) throw badParameter(name, `expected a 3-letter currency code such as USD, got ${JSON.stringify(raw.slice(0, 40))}`);
  return code;
}

export function pair(query: Query, name: string): { base: string; quote: string } {
  const raw = required(query, name).toUpperCase();
  const [base, quote, ...rest] = raw.split('/');
  if (rest.length || !base || !quote || !CODE.test(base) || !CODE.test(quote) || base === quote) {
    throw badParameter(name, `expected BASE/QUOTE such as USD/EUR (two different 3-letter codes), got ${JSON.stringify(raw.slice(0, 40))}`);
  }
  return { base, quote };
}

/** A decimal amount, kept as text so PostgreSQL's numeric gets it exactly. */
export function amount(query: Query, name: string, fallback: string): string {
  const raw = query[name]?.trim() || fallback;
  if (!AMOUNT.test(raw)) throw badParameter(name, `expected a decimal number such as 100 or 12.50, got ${JSON.stringify(raw.slice(0, 40))}`);
  return raw;
}

export function instant(query: Query, name: string): Date | null {
  const raw = query[name]?.trim();
  if (!raw) return null;
  const date = new Date(DAY.test(raw) ? `${raw}T00:00:00Z` : raw);
  if (!INSTANT.test(raw) || Number.isNaN(date.getTime()) || !sameDay(raw, date)) {
    throw badParameter(name, `expected an ISO-8601 date or time such as 2024-03-01 or 2024-03-01T12:00:00Z, got ${JSON.stringify(raw.slice(0, 40))}`);
  }
  return date;
}

/** A calendar day (YYYY-MM-DD) or the fallback. */
export function day(query: Query, name: string, fallback: string): string {
  const raw = query[name]?.trim() || fallback;
  if (!DAY.test(raw) || !sameDay(raw, new Date(`${raw}T00:00:00Z`))) {
    throw badParameter(name, `expected a day YYYY-MM-DD such as 2024-03-01, got ${JSON.stringify(raw.slice(0, 40))}`);
  }
  return raw;
}

export function oneOf<T extends string>(query: Query, name: string, allowed: readonly T[], fallback: T): T {
  const raw = query[name]?.trim() || fallback;
  if (!(allowed as readonly string[]).includes(raw)) throw badParameter(name, `expected one of ${allowed.join(', ')}, got ${JSON.stringify(raw.slice(0, 40))}`);
  return raw as T;
}

export function wholeNumber(query: Query, name: string, min: number, max: number, fallback: number): number {
  const raw = query[name]?.trim();
  if (!raw) return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max) throw badParameter(name, `expected a whole number from ${min} to ${max}, got ${JSON.stringify(raw.slice(0, 40))}`);
  return n;
}

/** "2024-02-30" parses as 1 March: the date must read back as the day given. */
function sameDay(raw: string, date: Date): boolean {
  if (Number.isNaN(date.getTime())) return false;
  const given = raw.slice(0, 10);
  if (raw.length === 10) return date.toISOString().slice(0, 10) === given;
  const [y, m, d] = given.split('-').map(Number);
  return m! >= 1 && m! <= 12 && d! >= 1 && d! <= new Date(Date.UTC(y!, m!, 0)).getUTCDate();
}
