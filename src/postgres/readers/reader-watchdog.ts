import { setTimeout as sleep } from 'node:timers/promises';
import { usageError } from '../../errors.js';
import type { Db } from '../../warehouse/db.js';
import { DEFAULT_READER_LIMITS } from './reader-limits.js';
import { READER_MARKER } from './reader-roles.js';

/**
 * A reader backend the watchdog stopped: its query cancelled (past its statement timeout), or its session ended (idle in
 * a transaction too long, or holding more memory than its limit).
 */
export interface Stopped {
  pid: number;
  role: string;
  database: string | null;
  action: 'cancelled' | 'terminated';
  reason: 'statement timeout' | 'idle in transaction' | 'memory';
  /** How long the query had run, or the transaction sat idle (0 for memory). */
  seconds: number;
  /** For memory: what the session held (its backend and parallel workers), in kB. */
  memoryKb?: number;
}

/** A backend's private memory in kB, or null when it cannot be measured (not a backend of the server watched). */
export type MemoryOf = (pid: number) => Promise<number | null>;

/**
 * One sweep over the whole server: every backend of a reader role (grant-reader's comment) that runs a query longer
 * than its statement timeout is cancelled, and one idle in a transaction longer than its idle timeout is terminated,
 * as PostgreSQL's own timeouts would; the limits come from the role's comment, which the reader cannot change, so a
 * reader's `set statement_timeout = 0` (or `alter role … reset`) changes nothing here.
 */
export async function stopReadersOverLimits(db: Db, memoryOf?: MemoryOf): Promise<Stopped[]> {
  const rows = await db.query<{ pid: number; role: string; database: string | null; state: string; seconds: number; signalled: boolean }>(
    `with readers as (
       select r.rolname,
              coalesce((l.limits ->> 'statementTimeoutMs')::bigint, $2) as statement_ms,
              coalesce((l.limits ->> 'idleInTransactionTimeoutMs')::bigint, $3) as idle_ms
         from pg_roles r
        cross join lateral (select shobj_description(r.oid, 'pg_authid') as comment) c
        cross join lateral (select case when c.comment ~ '\\{[^{}]*\\}$' then substring(c.comment from '\\{[^{}]*\\}$')::jsonb end as limits) l
        where starts_with(c.comment, $1)
     ), over as (
       select a.pid, a.usename, a.datname, a.state,
              extract(epoch from clock_timestamp() - case when a.state = 'active' then a.query_start else a.state_change end)::float8 as seconds
         from pg_stat_activity a join readers r on r.rolname = a.usename
        where a.backend_type = 'client backend'
          and ((a.state = 'active' and a.query_start < clock_timestamp() - r.statement_ms * interval '1 millisecond')
            or (a.state in ('idle in transaction', 'idle in transaction (aborted)') and a.state_change < clock_timestamp() - r.idle_ms * interval '1 millisecond'))
     )
     select pid, usename as role, datname as database, state, seconds,
            case when state = 'active' then pg_cancel_backend(pid) else pg_terminate_backend(pid) end as signalled
       from over`,
    [READER_MARKER, DEFAULT_READER_LIMITS.statementTimeoutMs, DEFAULT_READER_LIMITS.idleInTransactionTimeoutMs],
  );
  const stopped = rows
    .filter((row) => row.signalled)
    .map((row): Stopped =>
      row.state === 'active'
        ? { pid: row.pid, role: row.role, database: row.database, action: 'cancelled', reason: 'statement timeout', seconds: row.seconds }
        : {
            pid: row.pid,
            role: row.role,
            database: row.database,
            action: 'terminated',
            reason: 'idle in transaction',
            seconds: row.seconds,
          },
    );
  return memoryOf ? [...stopped, ...(await endReadersOverMemory(db, memoryOf))] : stopped;
}

/**
 * Ends every reader session whose private memory (its backend's and its parallel workers', measured by memoryOf) is past
 * the reader's memory limit. work_mem and its kin are settings any role may raise in its session, and a single value
 * (repeat(), array_agg()) may take up to 1 GB whatever they say: PostgreSQL has no per-role memory cap, so the watchdog
 * measures. Ended rather than cancelled: memory freed by a cancelled query may stay with the process.
 */
async function endReadersOverMemory(db: Db, memoryOf: MemoryOf): Promise<Stopped[]> {
  const backends = await db.query<{ pid: number; leader: number; role: string; database: string | null; limit_kb: string }>(
    `select a.pid, coalesce(a.leader_pid, a.pid) as leader, a.usename as role, a.datname as database,
            coalesce((substring(c.comment from '\\{[^{}]*\\}$')::jsonb ->> 'memoryLimitKb')::bigint, $2) as limit_kb
       from pg_stat_activity a
       join pg_roles r on r.rolname = a.usename
      cross join lateral (select shobj_description(r.oid, 'pg_authid') as comment) c
      where starts_with(c.comment, $1) and a.backend_type in ('client backend', 'parallel worker')`,
    [READER_MARKER, DEFAULT_READER_LIMITS.memoryLimitKb],
  );
  const sessions = new Map<number, { role: string; database: string | null; limitKb: number; memoryKb: number }>();
  for (const backend of backends) {
    const memoryKb = await memoryOf(backend.pid);
    if (memoryKb === null) continue;
    const session = sessions.get(backend.leader) ?? {
      role: backend.role,
      database: backend.database,
      limitKb: Number(backend.limit_kb),
      memoryKb: 0,
    };
    session.memoryKb += memoryKb;
    sessions.set(backend.leader, session);
  }
  const stopped: Stopped[] = [];
  for (const [pid, session] of sessions) {
    if (session.memoryKb <= session.limitKb) continue;
    // The same pid and role still: the session may have ended since it was measured.
    const [row] = await db.query<{ ended: boolean }>(
      'select pg_terminate_backend(pid) as ended from pg_stat_activity where pid = $1 and usename = $2',
      [pid, session.role],
    );
    if (row?.ended)
      stopped.push({
        pid,
        role: session.role,
        database: session.database,
        action: 'terminated',
        reason: 'memory',
        seconds: 0,
        memoryKb: session.memoryKb,
      });
  }
  return stopped;
}

/** Refuses a connection whose role could not see readers' queries or stop them (a superuser, or pg_read_all_stats and pg_signal_backend). */
export async function checkWatchdogRole(db: Db): Promise<void> {
  const [row] = await db.query<{ who: string; able: boolean }>(
    `select current_user as who,
            (select rolsuper from pg_roles where rolname = current_user)
            or (pg_has_role(current_user, 'pg_read_all_stats', 'member') and pg_has_role(current_user, 'pg_signal_backend', 'member')) as able`,
  );
  if (!row?.able) {
    throw usageError(
      `role ${row?.who ?? '?'} cannot see or stop other roles' queries: grant it pg_read_all_stats and pg_signal_backend (or run the watchdog as a superuser)`,
    );
  }
}

export interface WatchOptions {
  intervalMs: number;
  /** Measures a reader backend's memory (only where the watchdog runs beside the server: the embedded one). */
  memoryOf?: MemoryOf;
  /** Ends the watch; checked before every sweep. */
  keepGoing: () => boolean | Promise<boolean>;
  onStopped: (stopped: Stopped) => void;
  /** A sweep that failed (the server restarting, say): the watch reconnects and goes on. */
  onError: (error: unknown) => void;
}

/** Sweeps every intervalMs until keepGoing() is false, on a connection opened by open (again after any failure). */
export async function watchReaders(open: () => Promise<Db>, options: WatchOptions): Promise<void> {
  let db: Db | undefined;
  try {
    while (await options.keepGoing()) {
      try {
        db ??= await open();
        for (const stopped of await stopReadersOverLimits(db, options.memoryOf)) options.onStopped(stopped);
      } catch (error) {
        options.onError(error);
        await db?.close().catch(() => undefined);
        db = undefined;
      }
      await sleep(options.intervalMs);
    }
  } finally {
    await db?.close().catch(() => undefined);
  }
}
