import { isCalendarDay, parseInstant } from '../calendar/days.js';
import { badParameter } from './http-error.js';

/** Query-string parsing for the JSON API: every failure is a 400 naming the parameter. */
type Query = Record<string, string | undefined>;

const CODE = /^[A-Z]{3}$/;
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
  if (!AMOUNT.test(raw))
    throw badParameter(name, `expected a decimal number such as 100 or 12.50, got ${JSON.stringify(raw.slice(0, 40))}`);
  return raw;
}

/** An ISO-8601 instant (or a day, midnight UTC): 2024-03-01, 2024-03-01T12:00Z, 2024-03-01T12:00:00.000+01:00. */
export function instant(query: Query, name: string): Date | null {
  const raw = query[name]?.trim();
  if (!raw) return null;
  const date = parseInstant(raw, { offset: 'required' });
  if (!date) {
    const expected = 'an ISO-8601 date or time with its offset, years 0001 to 9999, such as 2024-03-01 or 2024-03-01T12:00:00Z';
    throw badParameter(name, `expected ${expected}, got ${JSON.stringify(raw.slice(0, 40))}`);
  }
  return date;
}

/** A calendar day (YYYY-MM-DD, 0001-01-01 to 9999-12-31) or the fallback. */
export function day(query: Query, name: string, fallback: string): string {
  const raw = query[name]?.trim() || fallback;
  if (!isCalendarDay(raw)) {
    const expected = 'a day YYYY-MM-DD from 0001-01-01 to 9999-12-31 such as 2024-03-01';
    throw badParameter(name, `expected ${expected}, got ${JSON.stringify(raw.slice(0, 40))}`);
  }
  return raw;
}

export function oneOf<T extends string>(query: Query, name: string, allowed: readonly T[], fallback: T): T {
  const raw = query[name]?.trim() || fallback;
  if (!(allowed as readonly string[]).includes(raw))
    throw badParameter(name, `expected one of ${allowed.join(', ')}, got ${JSON.stringify(raw.slice(0, 40))}`);
  return raw as T;
}

export function wholeNumber(query: Query, name: string, min: number, max: number, fallback: number): number {
  const raw = query[name]?.trim();
  if (!raw) return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max)
    throw badParameter(name, `expected a whole number from ${min} to ${max}, got ${JSON.stringify(raw.slice(0, 40))}`);
  return n;
}
