import { parseInstant } from '../calendar/days.js';
import { usageError } from '../errors.js';

/** A date or ISO 8601 instant flag (parseInstant in src/calendar/days.ts): a bare date is midnight UTC, a time without offset local. */
export function parseDateFlag(value: string, flag: string): Date {
  const date = parseInstant(value, { offset: 'local' });
  if (!date) {
    throw usageError(`invalid ${flag} ${JSON.stringify(value)}: expected a date YYYY-MM-DD or an ISO 8601 time, years 0001 to 9999`);
  }
  return date;
}

/** A percentage flag between 0 and 100. */
export function parsePercentFlag(value: string, flag: string): number {
  const pct = Number(value);
  // Plain decimals only: Number() also reads 0x10, 1e1 and ' 5'.
  if (!/^(?:\d{1,3}(?:\.\d{0,12})?|\.\d{1,12})$/.test(value) || pct > 100) {
    throw usageError(`invalid ${flag} ${JSON.stringify(value)}: expected a percentage between 0 and 100`);
  }
  return pct;
}

/** A whole-number flag from min to max (digits only: no sign, exponent or fraction). */
export function parseWholeNumberFlag(value: string, flag: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < min || n > max)
    throw usageError(`invalid ${flag} ${JSON.stringify(value)}: expected a whole number from ${min} to ${max}`);
  return n;
}
