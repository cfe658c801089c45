import type { Db } from '../warehouse/db.js';
import { type Month } from '../calendar/months.js';
import { monthOfPartition, partitionOf } from './partition-names.js';

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

/** The default partition of fact_rates_history (quoted, from the catalog), or null when it has none. */
async function defaultPartition(db: Db): Promise<string | null> {
  const [row] = await db.query<{ name: string }>(
    `select c.oid::regclass::text as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = 'fact_rates_history'::regclass and pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT'`,
  );
  return row?.name ?? null;
}

/**
 * The tables a relation's foreign keys reference (quoted, from the catalog, sorted). Detaching a history partition
 * creates the triggers of its now separate foreign keys on them (SHARE ROW EXCLUSIVE); dropping it removes those
 * triggers again, which takes ACCESS EXCLUSIVE on each: the dimension tables every reader reads.
 */
export async function referencedTables(db: Db, relation: string): Promise<string[]> {
  const rows = await db.query<{ name: string }>(
    `select distinct confrelid::regclass::text as name from pg_constraint where conrelid = $1::regclass and contype = 'f' order by 1`,
    [relation],
  );
  return rows.map((r) => r.name);
}

/** The relations besides a month's partition that detaching or attaching one locks, from the catalog. */
export interface HistoryLocks {
  defaultPartition: string | null;
  referenced: string[];
}

export async function historyLocks(db: Db): Promise<HistoryLocks> {
  return { defaultPartition: await defaultPartition(db), referenced: await referencedTables(db, 'fact_rates_history') };
}

/**
 * The name an archived month's partition gets when it is detached: a table of its own, dropped in a transaction of
 * its own (see detach.ts). Unique, so a month archived again never meets a leftover of an earlier archiving.
 */
const DETACHED = /^fact_rates_archived_y\d{4}m\d{2}_\d+$/;
export const detachedName = (month: Month): string => `fact_rates_archived_y${month.slice(0, 4)}m${month.slice(5, 7)}_${Date.now()}`;

/** Detached partitions of archived months not dropped yet (a drop that gave way to readers, or a kill). */
export async function detachedPartitions(db: Db): Promise<string[]> {
  const rows = await db.query<{ name: string }>(
    `select c.relname as name from pg_class c
      where c.relkind = 'r' and not c.relispartition and c.relname ~ '^fact_rates_archived_y[0-9]{4}m[0-9]{2}_[0-9]+$' and pg_table_is_visible(c.oid)
      order by 1`,
  );
  return rows.map((r) => r.name).filter((name) => DETACHED.test(name));
}

export function checkedDetached(name: string): string {
  if (!DETACHED.test(name)) throw new Error(`not a detached history partition: ${name}`);
  return name;
}
