import { usageError } from '../errors.js';
import type { Db } from '../warehouse/db.js';
import { partitionSizes, tableSizes } from '../warehouse/status.js';
import { sampleApiQueries } from './api-latency.js';
import { measureConnections } from './connections.js';
import { decide } from './decisions.js';
import { measureHistory } from './history.js';
import { archivedMonths, archiveSize, measureHotTier } from './hot-tier.js';
import type { AdviseReport, AdviseThresholds } from './types.js';
import { measureViewRefresh } from './view-refresh.js';
import { measureWrites } from './writes.js';

export interface AdviseOptions {
  thresholds: AdviseThresholds;
  /** Days of pipeline_runs and of history the rates are measured over. */
  windowDays: number;
  /** Calls per api query. */
  samples: number;
  now?: Date;
}

/** Measures the warehouse (read-only) and decides the design record's growth table from what it measured. */
export async function advise(db: Db, options: AdviseOptions): Promise<AdviseReport> {
  const now = options.now ?? new Date();
  const [schema] = await db.query<{ present: boolean }>(`select to_regclass('archive_manifest') is not null as present`);
  if (!schema?.present) throw usageError('the warehouse has no schema yet (or an old one): run `fxpipe db init` first');

  const t = options.thresholds;
  // Connections first: advise's own later work must not count.
  const connections = await measureConnections(db);
  const since = new Date(now.getTime() - options.windowDays * 86_400_000);
  const writes = await measureWrites(db, since, now);
  const partitions = await partitionSizes(db);
  const archived = await archivedMonths(db);
  const history = await measureHistory(db, partitions, archived, now, options.windowDays, [
    { what: 'TimescaleDB', rows: t.timescaleRows },
    { what: 'ClickHouse', rows: t.clickhouseRows },
  ]);
  const viewRefresh = await measureViewRefresh(db);
  const hotTier = measureHotTier(partitions, now, t.hotDays);
  const apiQueries = await sampleApiQueries(db, options.samples);
  const tables = (await tableSizes(db)).map((table) => ({ ...table, kind: table.kind.replace('_', ' ') }));
  return {
    generatedAt: now.toISOString(),
    windowDays: options.windowDays,
    thresholds: t,
    writes,
    tables,
    history,
    viewRefresh,
    apiQueries,
    hotTier,
    archive: archiveSize(archived),
    connections,
    decisions: decide({ writes, history, viewRefresh, hotTier, connections, windowDays: options.windowDays }, t),
  };
}
