import { usageError } from '../errors.js';

const MONTH = /^(\d{4})-(\d{2})$/;

/** A calendar month as 'YYYY-MM'. */
export type Month = string;

/** A YYYY-MM argument or flag, validated. */
export function parseMonth(value: string, what: string): Month {
  if (!isMonth(value)) throw usageError(`invalid ${what} ${JSON.stringify(value)}: expected a month YYYY-MM`);
  return value;
}

export function isMonth(value: string): boolean {
  const match = MONTH.exec(value);
  return match !== null && Number(match[2]) >= 1 && Number(match[2]) <= 12 && Number(match[1]) >= 1900;
}

/** The month of a day or instant (UTC). */
export const monthOf = (day: string | Date): Month => (typeof day === 'string' ? day : day.toISOString()).slice(0, 7);

/** First day of the month, YYYY-MM-DD. */
export const firstDay = (month: Month): string => `${month}-01`;

/** Last day of the month, YYYY-MM-DD. */
export function lastDay(month: Month): string {
  const [year, monthNumber] = month.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(year, monthNumber, 0)).toISOString().slice(0, 10);
}
