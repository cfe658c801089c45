import { usageError } from '../errors.js';

const DATE = /^\d{4}-\d{2}-\d{2}(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/** A date or ISO 8601 instant flag; a bare date is midnight UTC. */
export function parseDateFlag(value: string, flag: string): Date {
  const date = new Date(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
  if (!DATE.test(value) || Number.isNaN(date.getTime())) {
    throw usageError(`invalid ${flag} ${JSON.stringify(value)}: expected a date YYYY-MM-DD or an ISO 8601 time`);
  }
  return date;
}

/** A percentage flag between 0 and 100. */
export function parsePercentFlag(value: string, flag: string): number {
  const pct = Number(value);
  if (value.trim() === '' || !Number.isFinite(pct) || pct < 0 || pct > 100) {
    throw usageError(`invalid ${flag} ${JSON.stringify(value)}: expected a percentage between 0 and 100`);
  }
  return pct;
}

/** A whole-number flag from min to max (digits only: no sign, exponent or fraction). */
export function parseWholeNumberFlag(value: string, flag: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < min || n > max) throw usageError(`invalid ${flag} ${JSON.stringify(value)}: expected a whole number from ${min} to ${max}`);
  return n;
}
