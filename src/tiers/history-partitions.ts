import type { Db } from '../warehouse/db.js';
import { monthOfPartition, partitionOf, type Month } from './months.js';

export interface MonthlyPartition {
  name: string;
  month: Month;
}

/** The monthly partitions attached to fact_rates_history, oldest first (names from the catalog, checked). */
export async function monthlyPartitions(db: Db): Promise<MonthlyPartition[]> {
  const rows = await db.query<{ name: string }>(
    `select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = 'fact_rates_history'::regclass order by c.relname`,
  );
  return rows.flatMap(({ name }) => {
    const month = monthOfPartition(name);
    return month ? [{ name, month }] : [];
  });
}

/** Whether the month's partition is attached to fact_rates_history. */
export async function hasPartition(db: Db, month: Month): Promise<boolean> {
  const rows = await db.query(
    `select 1 from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = 'fact_rates_history'::regclass and c.relname = $1`,
    [partitionOf(month)],
  );
  return rows.length > 0;
}

/** Exact row count of a partition. */
export async function partitionRows(db: Db, partition: MonthlyPartition): Promise<number> {
  const [row] = await db.query<{ n: string }>(`select count(*)::text as n from ${partitionOf(partition.month)}`);
  return Number(row?.n);
}
