import type { SourceName } from '../sources/types.js';
import { usageError } from '../errors.js';
import { recentAlerts, type AlertLogEntry } from './alert-log.js';
import { lastProductionCheck, type ProductionCheckSummary } from './production-checks.js';
import type { Db } from './db.js';
import { sourceFreshness, type SourceFreshness } from './freshness.js';
import { runLockHeld } from './run-lock.js';
import { INTERRUPTED, type RunKind, type RunStatus } from './runs.js';
import { warehouseSettings, type WarehouseSettings } from './settings.js';

/** A scheduler whose heartbeat is older than this is presumed dead. */
export const SCHEDULER_ALIVE_SECONDS = 120;
const REJECTED_WINDOW_MS = 24 * 3_600_000;

export interface RunSummary {
  runId: string;
  kind: RunKind;
  startedAt: string;
  finishedAt: string | null;
  /** interrupted: its process ended before it finished (shown as soon as the process is gone). */
  status: RunStatus | 'running' | 'interrupted';
  sourceUsed: string | null;
  failover: boolean;
  counts: { extracted: number; loaded: number; unchanged: number; rejected: number };
  error: string | null;
}

export interface TableSize {
  name: string;
  kind: 'table' | 'partitioned_table' | 'materialized_view';
  /** Exact, from count(*). */
  rows: number;
  /** pg_total_relation_size: data, indexes and TOAST; for a partitioned table, the sum over its partitions. */
  bytes: number;
}

export interface PartitionSize {
  name: string;
  /** First day covered (YYYY-MM-DD); null for the default partition. */
  from: string | null;
  /** First day after the range (exclusive); null for the default partition. */
  to: string | null;
  rows: number;
  bytes: number;
}

export interface RejectedSummary {
  since: string;
  total: number;
  byReason: { reason: string; count: number }[];
}

export interface LiveScheduler {
  instanceId: string;
  hostname: string;
  pid: number;
  cron: string;
  timezone: string;
  startedAt: string;
  lastSeenAt: string;
  nextRunAt: string | null;
}

/** What `fxpipe status --json` prints (with the database label first); README "status --json fields" documents it. */
export interface WarehouseStatus {
  generatedAt: string;
  runs: RunSummary[];
  freshness: SourceFreshness[];
  tables: TableSize[];
  partitions: PartitionSize[];
  rejectedLast24h: RejectedSummary;
  scheduler: LiveScheduler | null;
  alerts: AlertLogEntry[];
  /** The last `fxpipe verify` check; null before the first. */
  productionCheck: ProductionCheckSummary | null;
  /** The warehouse's own settings (`fxpipe db settings`); null before migration 0012 made them. */
  settings: WarehouseSettings | null;
}

export interface StatusOptions {
  /** The configured sources: their freshness is always shown. */
  sources: readonly SourceName[];
  runs?: number;
  alerts?: number;
  /** The clock freshness and the rejected window are measured on (real time, or a test's). */
  now?: Date;
}

export async function warehouseStatus(db: Db, options: StatusOptions): Promise<WarehouseStatus> {
  const now = options.now ?? new Date();
  const [schema] = await db.query<{ present: boolean }>(`select to_regclass('pipeline_runs') is not null as present`);
  if (!schema?.present) throw usageError('the warehouse has no schema yet: run `fxpipe db init` or `fxpipe run` first');
  return {
    generatedAt: now.toISOString(),
    runs: await recentRuns(db, options.runs ?? 10),
    freshness: await sourceFreshness(db, options.sources, now),
    tables: await tableSizes(db),
    partitions: await partitionSizes(db),
    rejectedLast24h: await rejectedSince(db, new Date(now.getTime() - REJECTED_WINDOW_MS)),
    scheduler: await liveScheduler(db),
    alerts: await recentAlerts(db, options.alerts ?? 5),
    productionCheck: await lastProductionCheck(db),
    settings: await settingsIfAny(db),
  };
}

async function settingsIfAny(db: Db): Promise<WarehouseSettings | null> {
  const [table] = await db.query<{ present: boolean }>(`select to_regclass('fxpipe_settings') is not null as present`);
  return table?.present ? warehouseSettings(db) : null;
}

export async function recentRuns(db: Db, limit: number): Promise<RunSummary[]> {
  const rows = await db.query<{
    run_id: string;
    kind: RunKind;
    started_at: Date;
    finished_at: Date | null;
    status: RunSummary['status'];
    source_used: string | null;
    failover: boolean;
    extracted_count: number;
    loaded_count: number;
    unchanged_count: number;
    rejected_count: number;
    error: string | null;
  }>(
    `select run_id, kind, started_at, finished_at, status, source_used, failover,
            extracted_count, loaded_count, unchanged_count, rejected_count, error
       from pipeline_runs order by started_at desc, finished_at desc nulls first limit $1`,
    [limit],
  );
  // Every job that records a run holds the run lock while it lives: a 'running' row without it is a dead process's.
  const alive = rows.some((row) => row.status === 'running') && (await runLockHeld(db));
  return rows.map((row) => ({
    runId: row.run_id,
    kind: row.kind,
    startedAt: row.started_at.toISOString(),
    finishedAt: row.finished_at?.toISOString() ?? null,
    status: (row.status === 'running' && !alive) || (row.status === 'failed' && row.error === INTERRUPTED) ? 'interrupted' : row.status,
    sourceUsed: row.source_used,
    failover: row.failover,
    counts: { extracted: row.extracted_count, loaded: row.loaded_count, unchanged: row.unchanged_count, rejected: row.rejected_count },
    error: row.error,
  }));
}

/** Every table (and materialized view, none since the read models became tables) of the schema (partitions summed into their parent), with exact row counts. */
export async function tableSizes(db: Db): Promise<TableSize[]> {
  const rows = await db.query<{ name: string; kind: TableSize['kind']; rows: string; bytes: string }>(
    `select c.relname as name,
            case c.relkind when 'p' then 'partitioned_table' when 'm' then 'materialized_view' else 'table' end as kind,
            ${exactCount('c')} as rows,
            case when c.relkind = 'p'
                 then (select coalesce(sum(pg_total_relation_size(t.relid)), 0) from pg_partition_tree(c.oid) t where t.isleaf)
                 else pg_total_relation_size(c.oid) end as bytes
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = current_schema() and c.relkind in ('r', 'p', 'm') and not c.relispartition
      order by c.relname`,
  );
  return rows.map((row) => ({ name: row.name, kind: row.kind, rows: Number(row.rows), bytes: Number(row.bytes) }));
}

/** The monthly history partitions and the default one, oldest first, with exact row counts. */
export async function partitionSizes(db: Db): Promise<PartitionSize[]> {
  const rows = await db.query<{ name: string; from_key: string | null; to_key: string | null; rows: string; bytes: string }>(
    `select c.relname as name, b.bound[1] as from_key, b.bound[2] as to_key,
            ${exactCount('c')} as rows, pg_total_relation_size(c.oid) as bytes
       from pg_inherits i
       join pg_class c on c.oid = i.inhrelid
       cross join lateral regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \\((\\d{8})\\) TO \\((\\d{8})\\)') as b(bound)
      where i.inhparent = 'fact_rates_history'::regclass
      order by b.bound[1] nulls last, c.relname`,
  );
  return rows.map((row) => ({
    name: row.name,
    from: dayOfKey(row.from_key),
    to: dayOfKey(row.to_key),
    rows: Number(row.rows),
    bytes: Number(row.bytes),
  }));
}

export async function rejectedSince(db: Db, since: Date): Promise<RejectedSummary> {
  const rows = await db.query<{ reason: string; count: number }>(
    `select reason, count(*)::integer as count from rejected_rates where rejected_at > $1 group by reason order by count desc, reason`,
    [since],
  );
  return { since: since.toISOString(), total: rows.reduce((sum, row) => sum + row.count, 0), byReason: rows };
}

/**
 * The scheduler seen most recently, if its heartbeat is younger than SCHEDULER_ALIVE_SECONDS by the
 * database's clock (the one the heartbeat is written with). Null before migration 0006 too.
 */
export async function liveScheduler(db: Db): Promise<LiveScheduler | null> {
  const [table] = await db.query<{ present: boolean }>(`select to_regclass('scheduler_instances') is not null as present`);
  if (!table?.present) return null;
  const [row] = await db.query<{
    instance_id: string;
    hostname: string;
    pid: number;
    cron: string;
    timezone: string;
    started_at: Date;
    last_seen_at: Date;
    next_run_at: Date | null;
  }>(
    `select instance_id, hostname, pid, cron, timezone, started_at, last_seen_at, next_run_at
       from scheduler_instances
      where last_seen_at > now() - make_interval(secs => $1)
      order by last_seen_at desc limit 1`,
    [SCHEDULER_ALIVE_SECONDS],
  );
  if (!row) return null;
  return {
    instanceId: row.instance_id,
    hostname: row.hostname,
    pid: row.pid,
    cron: row.cron,
    timezone: row.timezone,
    startedAt: row.started_at.toISOString(),
    lastSeenAt: row.last_seen_at.toISOString(),
    nextRunAt: row.next_run_at?.toISOString() ?? null,
  };
}

/** count(*) of the relation of a pg_class row, as one SQL expression (regclass output is a quoted, qualified name). */
function exactCount(alias: string): string {
  return `(xpath('/row/n/text()', query_to_xml(format('select count(*) as n from %s', ${alias}.oid::regclass), false, true, '')))[1]::text::bigint`;
}

function dayOfKey(key: string | null): string | null {
  return key ? `${key.slice(0, 4)}-${key.slice(4, 6)}-${key.slice(6, 8)}` : null;
}
