import { formatBytes } from '../util/format-bytes.js';
import { count, ms, months, rate, share } from './format.js';
import type { Connections, Decision, HistoryGrowth, HotTier, AdviseThresholds, Verdict, ViewRefresh, WriteThroughput } from './types.js';

export interface Measured {
  writes: WriteThroughput;
  history: HistoryGrowth;
  viewRefresh: ViewRefresh;
  hotTier: HotTier;
  connections: Connections;
  windowDays: number;
}

/**
 * The design record's growth table, decided from measurements: a value at or over its threshold → recommended; at half of it, or
 * projected to reach it within the horizon → consider; otherwise not needed.
 */
export function decide(m: Measured, t: AdviseThresholds): Decision[] {
  return [kafka(m, t), timescale(m, t), clickhouse(m, t), parquet(m, t), pooling(m, t)];
}

/** The projection toward a row threshold, and whether it is crossed within the horizon (not already). */
function projection(history: HistoryGrowth, what: 'TimescaleDB' | 'ClickHouse', t: AdviseThresholds) {
  const crossing = history.crossings.find((c) => c.what === what);
  const soon = crossing?.monthsAway != null && !crossing.crossed && crossing.monthsAway <= t.horizonMonths;
  return { crossing, soon };
}

function byLevel(value: number, threshold: number): Verdict {
  if (value >= threshold) return 'recommended';
  return value >= threshold / 2 ? 'consider' : 'not needed';
}

function kafka({ writes, windowDays }: Measured, t: AdviseThresholds): Decision {
  const threshold = `${count(t.kafkaWritesPerSecond)} observations/s`;
  if (writes.observationsPerSecond === null) {
    return {
      option: 'Kafka',
      measured: `${writes.runs} run${writes.runs === 1 ? '' : 's'} in ${windowDays} days: no rate yet`,
      threshold,
      verdict: 'not needed',
      why: `fewer than 2 incremental runs in the last ${windowDays} days, so no arrival rate to measure; backfills (${count(writes.backfill.rows)} rows) are one-off bulk loads`,
      command: null,
    };
  }
  const value = writes.observationsPerSecond;
  const verdict = byLevel(value, t.kafkaWritesPerSecond);
  return {
    option: 'Kafka',
    measured: `${rate(value)} observations/s (${rate(writes.runsPerDay ?? 0)} runs/day)`,
    threshold,
    verdict,
    why:
      verdict === 'not needed'
        ? `${share(value, t.kafkaWritesPerSecond)} of a stream's rate: a scheduled batch carries it`
        : `${share(value, t.kafkaWritesPerSecond)} of the threshold: arrivals this steady and this fast suit a stream more than ${rate(writes.runsPerDay ?? 0)} batches a day`,
    command: null,
  };
}

function timescale({ history, viewRefresh }: Measured, t: AdviseThresholds): Decision {
  const rows = history.totalRows;
  const refreshMs = viewRefresh.medianMs;
  const { crossing, soon } = projection(history, 'TimescaleDB', t);
  const byRows = byLevel(rows, t.timescaleRows);
  const byRefresh = refreshMs === null ? 'not needed' : byLevel(refreshMs / 1000, t.refreshSeconds);
  const verdict: Verdict = [byRows, byRefresh].includes('recommended')
    ? 'recommended'
    : [byRows, byRefresh].includes('consider') || soon
      ? 'consider'
      : 'not needed';
  const refreshText = refreshMs === null ? 'no refresh recorded' : `median refresh ${ms(refreshMs)}`;
  const when = crossing?.crossed
    ? 'already crossed'
    : crossing?.monthsAway != null
      ? `${months(crossing.monthsAway)} away at ${count(history.rowsPerMonth)} rows/month`
      : 'not growing';
  let why: string;
  if (byRefresh === 'recommended')
    why = `view refresh takes ${ms(refreshMs)} per run, over ${t.refreshSeconds} s: continuous aggregates refresh incrementally`;
  else if (byRows === 'recommended')
    why = `${count(rows)} history rows are past ${count(t.timescaleRows)}: hypertables and compression keep inserts and scans flat`;
  else if (verdict === 'consider')
    why = `${share(rows, t.timescaleRows)} of the row threshold (${when}), refresh ${share((refreshMs ?? 0) / 1000, t.refreshSeconds)} of its limit: plan it`;
  else
    why = `${share(rows, t.timescaleRows)} of the row threshold (${when}); refresh ${share((refreshMs ?? 0) / 1000, t.refreshSeconds)} of ${t.refreshSeconds} s`;
  return {
    option: 'TimescaleDB',
    measured: `${count(rows)} history rows; ${refreshText}`,
    threshold: `${count(t.timescaleRows)} rows or ${t.refreshSeconds} s refresh`,
    verdict,
    why,
    command: null,
  };
}

function clickhouse({ history, connections }: Measured, t: AdviseThresholds): Decision {
  const rows = history.totalRows;
  const { crossing, soon } = projection(history, 'ClickHouse', t);
  const makeReaders = connections.readerRoles > 0;
  let verdict: Verdict = rows >= t.clickhouseRows ? 'recommended' : soon || rows >= t.clickhouseRows / 2 ? 'consider' : 'not needed';
  // The seed: ClickHouse only without the Make.com requirement (its connector reads PostgreSQL).
  if (verdict === 'recommended' && makeReaders) verdict = 'consider';
  const when = crossing?.crossed ? 'crossed' : crossing?.monthsAway != null ? `${months(crossing.monthsAway)} away` : 'not growing';
  const why =
    verdict === 'not needed'
      ? `${share(rows, t.clickhouseRows)} of the threshold (${when}): PostgreSQL indexes answer in milliseconds`
      : makeReaders
        ? `${count(rows)} rows (${when}), but ${connections.readerRoles} reader role(s) exist and Make.com's connector reads PostgreSQL: keep it the serving copy`
        : `${count(rows)} rows (${when}): columnar scans beat row storage at this size`;
  return {
    option: 'ClickHouse',
    measured: `${count(rows)} history rows`,
    threshold: `${count(t.clickhouseRows)} rows`,
    verdict,
    why,
    command: null,
  };
}

function parquet({ hotTier }: Measured, t: AdviseThresholds): Decision {
  const command = `fxpipe archive --older-than ${t.hotDays}d`;
  if (hotTier.oldestMonth === null || hotTier.oldestMonthAgeDays === null) {
    return {
      option: 'Parquet archive + DuckDB',
      measured: 'no hot history',
      threshold: `${t.hotDays} days`,
      verdict: 'not needed',
      why: 'the history holds no rows to archive',
      command: null,
    };
  }
  const age = hotTier.oldestMonthAgeDays;
  const beyond = hotTier.beyondHotDays;
  const verdict: Verdict = beyond.months > 0 ? 'recommended' : age + 31 > t.hotDays ? 'consider' : 'not needed';
  const why =
    verdict === 'recommended'
      ? `${beyond.months} month(s), ${count(beyond.rows)} rows (${formatBytes(beyond.bytes)}) are older than ${t.hotDays} days: Parquet holds them in a fraction of the bytes and fxpipe query still reads them`
      : verdict === 'consider'
        ? `the oldest hot month passes ${t.hotDays} days within a month`
        : `the oldest hot month ended ${age} days ago, within ${t.hotDays} days`;
  return {
    option: 'Parquet archive + DuckDB',
    measured: `oldest hot month ${hotTier.oldestMonth}, ended ${age} days ago`,
    threshold: `${t.hotDays} days`,
    verdict,
    why,
    command: verdict === 'not needed' ? null : command,
  };
}

function pooling({ connections }: Measured, t: AdviseThresholds): Decision {
  const verdict = byLevel(connections.clients, t.poolConnections);
  const why =
    verdict === 'not needed'
      ? `${connections.clients} concurrent client connection(s) now (${connections.readers} from reader roles): direct connections are cheaper than a pool`
      : `${connections.clients} concurrent connections (${connections.readers} readers) of max_connections ${connections.maxConnections}: pool fxpipe's own (FXPIPE_DRIVER=pooled) and put PgBouncer before readers`;
  return {
    option: 'Connection pooling',
    measured: `${connections.clients} client connections (${connections.active} active)`,
    threshold: `${count(t.poolConnections)} connections`,
    verdict,
    why,
    command: verdict === 'not needed' ? null : 'export FXPIPE_DRIVER=pooled',
  };
}
