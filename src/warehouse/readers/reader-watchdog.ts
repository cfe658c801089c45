import { setTimeout as sleep } from 'node:timers/promises';
import { usageError } from '../../errors.js';
import type { Db } from '../db.js';
import { DEFAULT_READER_LIMITS } from './reader-limits.js';
import { READER_MARKER } from './reader-roles.js';

/** A reader backend the watchdog stopped: its query cancelled, or its session ended (idle in a transaction too long). */
export interface Stopped {
  pid: number;
  role: string;
  database: string | null;
  action: 'cancelled' | 'terminated';
  /** How long the query had run, or the transaction sat idle. */
  seconds: number;
}

/**
 * One sweep over the whole server: every backend of a reader role (grant-reader's comment) that runs a query longer
 * than its statement timeout is cancelled, and one idle in a transaction longer than its idle timeout is terminated,
 * as PostgreSQL's own timeouts would; the limits come from the role's comment, which the reader cannot change, so a
 * reader's `set statement_timeout = 0` (or `alter role … reset`) changes nothing here.
 */
export async function stopReadersOverLimits(db: Db): Promise<Stopped[]> {
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
  return rows
    .filter((row) => row.signalled)
    .map((row) => ({ pid: row.pid, role: row.role, database: row.database, action: row.state === 'active' ? 'cancelled' : 'terminated', seconds: row.seconds }));
}

/** Refuses a connection whose role could not see readers' queries or stop them (a superuser, or pg_read_all_stats and pg_signal_backend). */
export async function checkWatchdogRole(db: Db): Promise<void> {
  const [row] = await db.query<{ who: string; able: boolean }>(
    `select current_user as who,
            (select rolsuper from pg_roles where rolname = current_user)
            or (pg_has_role(current_user, 'pg_read_all_stats', 'member') and pg_has_role(current_user, 'pg_signal_backend', 'member')) as able`,
  );
  if (!row?.able) {
    throw usageError(`role ${row?.who ?? '?'} cannot see or stop other roles' queries: grant it pg_read_all_stats and pg_signal_backend (or run the watchdog as a superuser)`);
  }
}

export interface WatchOptions {
  intervalMs: number;
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
        for (const stopped of await stopReadersOverLimits(db)) options.onStopped(stopped);
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
