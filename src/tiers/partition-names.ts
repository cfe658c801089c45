import { isMonth, type Month } from '../calendar/months.js';

/** The only names a monthly history partition can have; anything else from the catalog is not touched. */
export const MONTHLY_PARTITION = /^fact_rates_history_y(\d{4})m(\d{2})$/;

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
