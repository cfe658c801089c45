import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { SourceName } from '../sources/types.js';
import type { Db } from '../warehouse/db.js';
import { sourceFreshness } from '../warehouse/freshness.js';

const RUN_STAGES = ['lock', 'extract', 'normalize', 'load', 'refresh', 'total'] as const;

export interface ServeMetrics {
  registry: Registry;
  requests: Counter<'route' | 'status'>;
}

/**
 * Prometheus metrics: the warehouse's (read from the database at each scrape, so every fxpipe process's runs count,
 * not only this one's) and this server's own requests and process figures.
 */
export function createMetrics(db: Db, sources: readonly SourceName[]): ServeMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'fxpipe_serve_' });

  new Gauge({
    name: 'fxpipe_runs',
    help: 'Pipeline runs recorded in pipeline_runs, by kind and status',
    labelNames: ['kind', 'status'],
    registers: [registry],
    async collect() {
      const rows = await db.query<{ kind: string; status: string; n: number }>(
        'select kind, status, count(*)::int as n from pipeline_runs group by kind, status order by kind, status',
      );
      this.reset();
      for (const r of rows) this.set({ kind: r.kind, status: r.status }, r.n);
    },
  });
  new Gauge({
    name: 'fxpipe_run_duration_seconds',
    help: 'Duration of the last 100 finished runs (loaded or unchanged, backfills aside), as each measured itself: quantiles',
    labelNames: ['quantile'],
    registers: [registry],
    async collect() {
      const [row] = await db.query<{ p50: number | null; p99: number | null }>(
        `select percentile_cont(0.5) within group (order by s) as p50, percentile_cont(0.99) within group (order by s) as p99
           from (select (stage_ms->>'total')::float8 / 1000 as s from pipeline_runs
                  where status in ('loaded', 'unchanged') and stage_ms ? 'total' and kind <> 'backfill'
                  order by started_at desc limit 100) r`,
      );
      this.reset();
      if (row?.p50 != null) this.set({ quantile: '0.5' }, row.p50);
      if (row?.p99 != null) this.set({ quantile: '0.99' }, row.p99);
    },
  });
  new Gauge({
    name: 'fxpipe_last_run_stage_seconds',
    help: 'Stage durations of the latest finished run, as it recorded them',
    labelNames: ['stage'],
    registers: [registry],
    async collect() {
      const [row] = await db.query<{ stage_ms: Record<string, unknown> }>(
        `select stage_ms from pipeline_runs where finished_at is not null and stage_ms ? 'total' order by started_at desc limit 1`,
      );
      this.reset();
      for (const stage of RUN_STAGES) {
        const ms = Number(row?.stage_ms[stage]);
        if (Number.isFinite(ms)) this.set({ stage }, ms / 1000);
      }
    },
  });
  new Gauge({
    name: 'fxpipe_last_run_timestamp_seconds',
    help: 'Start of the latest run of each status (Unix time)',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      const rows = await db.query<{ status: string; at: number }>(
        'select status, extract(epoch from max(started_at))::float8 as at from pipeline_runs group by status',
      );
      this.reset();
      for (const r of rows) this.set({ status: r.status }, r.at);
    },
  });
  new Gauge({
    name: 'fxpipe_rows_loaded',
    help: 'History rows loaded by all runs, by kind (from pipeline_runs.loaded_count)',
    labelNames: ['kind'],
    registers: [registry],
    async collect() {
      const rows = await db.query<{ kind: string; n: string }>(
        'select kind, sum(loaded_count)::text as n from pipeline_runs group by kind',
      );
      this.reset();
      for (const r of rows) this.set({ kind: r.kind }, Number(r.n));
    },
  });
  new Gauge({
    name: 'fxpipe_rejected_rows',
    help: 'Values quarantined in rejected_rates, by reason',
    labelNames: ['reason'],
    registers: [registry],
    async collect() {
      const rows = await db.query<{ reason: string; n: number }>('select reason, count(*)::int as n from rejected_rates group by reason');
      this.reset();
      for (const r of rows) this.set({ reason: r.reason }, r.n);
    },
  });
  new Gauge({
    name: 'fxpipe_source_freshness_seconds',
    help: 'Age of the newest provider as-of time stored per source',
    labelNames: ['source', 'state'],
    registers: [registry],
    async collect() {
      const freshness = await sourceFreshness(db, sources, new Date());
      this.reset();
      for (const f of freshness) if (f.asOf) this.set({ source: f.source, state: f.state }, (Date.now() - Date.parse(f.asOf)) / 1000);
    },
  });
  new Gauge({
    name: 'fxpipe_history_rows',
    help: 'History rows: hot (PostgreSQL, estimated from the statistics) and archived (Parquet, from the manifest)',
    labelNames: ['tier'],
    registers: [registry],
    async collect() {
      const [row] = await db.query<{ hot: string; cold: string }>(
        `select (select coalesce(sum(greatest(c.reltuples, 0)), 0)::bigint::text from pg_inherits i join pg_class c on c.oid = i.inhrelid
                  where i.inhparent = 'fact_rates_history'::regclass) as hot,
                (select coalesce(sum(rows), 0)::text from archive_manifest where state = 'archived') as cold`,
      );
      this.reset();
      this.set({ tier: 'hot' }, Number(row?.hot ?? 0));
      this.set({ tier: 'archived' }, Number(row?.cold ?? 0));
    },
  });
  const requests = new Counter({
    name: 'fxpipe_serve_requests_total',
    help: 'HTTP requests this server answered, by route and status',
    labelNames: ['route', 'status'],
    registers: [registry],
  });
  return { registry, requests };
}
