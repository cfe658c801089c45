import { usageError } from '../errors.js';

/** The only names a monthly history partition can have; anything else from the catalog is not touched. */
export const MONTHLY_PARTITION = /^fact_rates_history_y(\d{4})m(\d{2})$/;
const MONTH = /^(\d{4})-(\d{2})$/;

/** A calendar month as 'YYYY-MM'. */
export type Month = string;

/** The month of a partition name, or null when the name is not a monthly history partition. */
export function monthOfPartition(name: string): Month | null {
  const match = MONTHLY_PARTITION.exec(name);
  if (!match) return null;
  const month = `${match[1]}-${match[2]}`;
  return isMonth(month) ? month : null;
}

/** The partition name of a month (as fx_partition_name builds it). */
export function partitionOf(month: Month): string {
  const name = `fact_rates_history_y${month.slice(0, 4)}m${month.slice(5, 7)}`;
  if (!MONTHLY_PARTITION.test(name)) throw new Error(`not a month: ${month}`);
  return name;
}

/** A YYYY-MM argument or flag, validated. */
export function parseMonth(value: string, what: string): Month {
  if (!isMonth(value)) throw usageError(`invalid ${what} ${JSON.stringify(value)}: expected a month YYYY-MM`);
  return value;
}

function isMonth(value: string): boolean {
  const match = MONTH.exec(value);
  return match !== null && Number(match[2]) >= 1 && Number(match[2]) <= 12 && Number(match[1]) >= 1900;
}

/** First day of the month, YYYY-MM-DD. */
export const firstDay = (month: Month): string => `${month}-01`;

/** Last day of the month, YYYY-MM-DD. */
export function lastDay(month: Month): string {
  const [year, monthNumber] = month.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(year, monthNumber, 0)).toISOString().slice(0, 10);
}
