import type { Db } from '../warehouse/db.js';
import type { PartitionSize } from '../warehouse/status.js';
import type { Crossing, HistoryGrowth, MonthRows } from './types.js';

const DAY_MS = 86_400_000;
const MONTH_DAYS = 30.44;

export interface ArchivedMonth {
  month: string;
  rows: number;
}

/**
 * History per month (hot partitions and archived months), and its growth: the rows whose rate time falls in the
 * last `windowDays`, over the days they actually span (a young warehouse is measured over its own age, at least a day).
 */
export async function measureHistory(
  db: Db,
  partitions: PartitionSize[],
  archived: ArchivedMonth[],
  now: Date,
  windowDays: number,
  thresholds: { what: string; rows: number }[],
): Promise<HistoryGrowth> {
  const months = new Map<string, MonthRows>();
  const monthOf = (key: string) => months.get(key) ?? months.set(key, { month: key, hotRows: 0, archivedRows: 0 }).get(key)!;
  for (const p of partitions) if (p.rows > 0) monthOf(p.from ? p.from.slice(0, 7) : 'default').hotRows += p.rows;
  for (const a of archived) if (a.rows > 0) monthOf(a.month).archivedRows += a.rows;
  const byMonth = [...months.values()].sort((a, b) => a.month.localeCompare(b.month));
  const hotRows = byMonth.reduce((sum, m) => sum + m.hotRows, 0);
  const archivedRows = byMonth.reduce((sum, m) => sum + m.archivedRows, 0);
  const totalRows = hotRows + archivedRows;

  const since = new Date(now.getTime() - windowDays * DAY_MS);
  const [recent] = await db.query<{ rows: string; oldest: Date | null }>(
    `select count(*)::text as rows, min(rate_timestamp) as oldest from fact_rates_history where rate_timestamp > $1 and rate_timestamp <= $2`,
    [since, now],
  );
  const recentRows = Number(recent?.rows ?? 0);
  const measuredDays = recent?.oldest ? Math.max(1, (now.getTime() - recent.oldest.getTime()) / DAY_MS) : windowDays;
  const rowsPerMonth = (recentRows / measuredDays) * MONTH_DAYS;

  return {
    hotRows,
    archivedRows,
    totalRows,
    byMonth,
    rowsPerMonth,
    measuredDays,
    crossings: thresholds.map((t) => crossing(t.what, t.rows, totalRows, rowsPerMonth, now)),
  };
}

function crossing(what: string, thresholdRows: number, rows: number, rowsPerMonth: number, now: Date): Crossing {
  if (rows >= thresholdRows) return { what, thresholdRows, crossed: true, monthsAway: 0, month: null };
  if (rowsPerMonth <= 0) return { what, thresholdRows, crossed: false, monthsAway: null, month: null };
  const monthsAway = (thresholdRows - rows) / rowsPerMonth;
  const at = new Date(now.getTime() + monthsAway * MONTH_DAYS * DAY_MS);
  const month = Number.isFinite(at.getTime()) && at.getUTCFullYear() <= 9999 ? at.toISOString().slice(0, 7) : null;
  return { what, thresholdRows, crossed: false, monthsAway, month };
}
