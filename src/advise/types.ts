/** What `fxpipe advise` measures and concludes; `advise --json` prints an AdviseReport (README documents it). */

export type Verdict = 'not needed' | 'consider' | 'recommended';

export interface AdviseThresholds {
  /** Sustained rate observations per second at which a stream (Kafka) is recommended. */
  kafkaWritesPerSecond: number;
  /** History rows (hot + archived) at which TimescaleDB is recommended. */
  timescaleRows: number;
  /** Seconds of view refresh per run at which TimescaleDB's continuous aggregates are recommended. */
  refreshSeconds: number;
  /** History rows at which ClickHouse is worth considering. */
  clickhouseRows: number;
  /** Days beyond which a hot history month should be archived to Parquet. */
  hotDays: number;
  /** Concurrent client connections at which a connection pool is recommended. */
  poolConnections: number;
  /** A threshold projected to be crossed within this many months makes the verdict "consider". */
  horizonMonths: number;
}

export interface WriteThroughput {
  /** Incremental runs (scheduled, manual, demo) that finished loaded or unchanged, in the window. */
  runs: number;
  failedRuns: number;
  firstRunAt: string | null;
  lastRunAt: string | null;
  /** Between the first and the last of those runs; null with fewer than two. */
  runsPerDay: number | null;
  /** Rate observations arriving per second (what a stream would carry): extracted by every run after the first ÷ the span. */
  observationsPerSecond: number | null;
  /** History rows written per second (after change detection), the same way. */
  rowsPerSecond: number | null;
  /** Bulk loads in the window, reported apart: they are one-off history, not the steady rate. */
  backfill: { runs: number; rows: number };
}

export interface MonthRows {
  month: string;
  hotRows: number;
  archivedRows: number;
}

export interface Crossing {
  what: string;
  thresholdRows: number;
  /** Already at or beyond the threshold. */
  crossed: boolean;
  /** Months from now at the measured growth; null when crossed, or when the history does not grow. */
  monthsAway: number | null;
  /** The month it would be crossed (YYYY-MM); null as monthsAway, or beyond the year 9999. */
  month: string | null;
}

export interface HistoryGrowth {
  hotRows: number;
  archivedRows: number;
  totalRows: number;
  /** Rows per month of history, hot and archived, oldest first (empty months left out). */
  byMonth: MonthRows[];
  /** Rows whose rate time falls in the last `measuredDays` (at most the window), per 30.44-day month. */
  rowsPerMonth: number;
  measuredDays: number;
  crossings: Crossing[];
}

export interface ViewRefresh {
  /** Runs that refreshed the views, newest first, at most 20. */
  runs: number;
  latestMs: number | null;
  medianMs: number | null;
  maxMs: number | null;
  /** Per view, as the latest of those runs recorded it. */
  latestByView: { view: string; ms: number }[];
}

export interface QueryLatency {
  query: string;
  sql: string;
  samples: number;
  errors: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

export interface HotTier {
  /** The oldest monthly history partition holding rows; null when the history is empty. */
  oldestMonth: string | null;
  /** Days since the last day of that month (what `archive --older-than` compares). */
  oldestMonthAgeDays: number | null;
  /** Months whose last day is more than hotDays old: what `archive --older-than <hotDays>d` would move. */
  beyondHotDays: { months: number; rows: number; bytes: number };
}

export interface ArchiveSize {
  months: number;
  rows: number;
  bytes: number;
  newestMonth: string | null;
}

export interface Connections {
  /** Client connections to this database now, advise's own excluded. */
  clients: number;
  active: number;
  /** Of those, logged in as roles made by `db grant-reader` (Make.com and analysts). */
  readers: number;
  readerRoles: number;
  maxConnections: number;
}

export interface TableRows {
  name: string;
  kind: string;
  rows: number;
  bytes: number;
}

export interface Decision {
  option: 'Kafka' | 'TimescaleDB' | 'ClickHouse' | 'Parquet archive + DuckDB' | 'Connection pooling';
  measured: string;
  threshold: string;
  verdict: Verdict;
  why: string;
  command: string | null;
}

export interface AdviseReport {
  generatedAt: string;
  windowDays: number;
  thresholds: AdviseThresholds;
  writes: WriteThroughput;
  tables: TableRows[];
  history: HistoryGrowth;
  viewRefresh: ViewRefresh;
  apiQueries: QueryLatency[];
  hotTier: HotTier;
  archive: ArchiveSize;
  connections: Connections;
  decisions: Decision[];
}
