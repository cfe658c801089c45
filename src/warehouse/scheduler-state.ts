import { hostname } from 'node:os';
import type { Db } from './db.js';

export interface SchedulerInstance {
  instanceId: string;
  cron: string;
  timezone: string;
  startedAt: Date;
}

/** Registers or refreshes this scheduler's heartbeat row. */
export async function heartbeat(db: Db, instance: SchedulerInstance, nextRunAt: Date | null): Promise<void> {
  await db.query(
    `insert into scheduler_instances (instance_id, hostname, pid, cron, timezone, started_at, last_seen_at, next_run_at)
     values ($1, $2, $3, $4, $5, $6, now(), $7)
     on conflict (instance_id) do update set last_seen_at = now(), next_run_at = excluded.next_run_at`,
    [instance.instanceId, hostname(), process.pid, instance.cron, instance.timezone, instance.startedAt, nextRunAt],
  );
}

export async function unregister(db: Db, instanceId: string): Promise<void> {
  await db.query('delete from scheduler_instances where instance_id = $1', [instanceId]);
}

/** The newest slot any scheduler claimed, or null. */
export async function latestClaimedSlot(db: Db): Promise<Date | null> {
  const [row] = await db.query<{ slot_at: Date | null }>('select max(slot_at) as slot_at from scheduler_slots');
  return row?.slot_at ?? null;
}

/** Claims a slot; false when another scheduler already did. */
export async function claimSlot(db: Db, slot: Date, instanceId: string, catchUp: boolean): Promise<boolean> {
  const rows = await db.query(
    `insert into scheduler_slots (slot_at, claimed_by, catch_up) values ($1, $2, $3) on conflict (slot_at) do nothing returning 1`,
    [slot, instanceId, catchUp],
  );
  return rows.length === 1;
}

/** Claims a slot, or keeps this scheduler's own claim of it while unfinished; false when another scheduler has it or it is finished. */
export async function claimUnfinishedSlot(db: Db, slot: Date, instanceId: string, catchUp: boolean): Promise<boolean> {
  const rows = await db.query(
    `insert into scheduler_slots (slot_at, claimed_by, catch_up) values ($1, $2, $3)
     on conflict (slot_at) do update set claimed_by = excluded.claimed_by
       where scheduler_slots.claimed_by = excluded.claimed_by and scheduler_slots.finished_at is null
     returning 1`,
    [slot, instanceId, catchUp],
  );
  return rows.length === 1;
}

export async function finishSlot(db: Db, slot: Date, runId: string | null, status: string): Promise<void> {
  await db.query('update scheduler_slots set run_id = $2, status = $3, finished_at = now() where slot_at = $1', [slot, runId, status]);
}
