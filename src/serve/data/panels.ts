import type { Db } from '../../warehouse/db.js';
import { requireKnown } from './currencies.js';
import { legSourceOf } from './history.js';

/** The dashboard's smaller panels: source comparison, recent rejects, the archive, the days a pair's history has. */

export async function sourceComparison(db: Db, base: string, quote: string) {
  // Stored rates are USD-based: a pair's legs are its non-USD currencies.
  const legs = [base, quote].filter((code) => code !== 'USD');
  const rows = await db.query<{
    quote: string;
    source: string;
    source_tier: string;
    rate: string;
    as_of: Date;
    reference_rate: string | null;
    source_count: number;
    deviation_pct: string | null;
    flags: string[];
  }>(
    `select quote, source, source_tier, rate::text as rate, as_of, reference_rate::text as reference_rate,
            source_count::int as source_count,
            deviation_pct::text as deviation_pct, flags
       from api.source_comparison where base = 'USD' and quote = any($1::text[]) order by quote, source`,
    [legs],
  );
  return {
    pair: `${base}/${quote}`,
    legs: legs.map((leg) => ({
      base: 'USD',
      quote: leg,
      // `tier` holds the source's rank: the key keeps api.source_comparison's name, like the api, for stability.
      sources: rows
        .filter((r) => r.quote === leg)
        .map((r) => ({
          source: r.source,
          tier: r.source_tier,
          rate: r.rate,
          asOf: r.as_of.toISOString(),
          referenceRate: r.reference_rate,
          sourceCount: r.source_count,
          deviationPct: r.deviation_pct,
          flags: r.flags,
        })),
    })),
  };
}

export async function recentRejects(db: Db, hours: number) {
  const rows = await db.query<{
    rejected_at: Date;
    source_name: string;
    base_code: string | null;
    quote_code: string | null;
    raw_value: string | null;
    reason: string;
    detail: string | null;
  }>(
    `select rejected_at, source_name, base_code, quote_code, raw_value, reason, detail from rejected_rates
      where rejected_at > now() - make_interval(hours => $1) order by rejected_at desc, rejected_id desc limit 500`,
    [hours],
  );
  return {
    hours,
    rejected: rows.map((r) => ({
      rejectedAt: r.rejected_at.toISOString(),
      source: r.source_name,
      base: r.base_code,
      quote: r.quote_code,
      rawValue: r.raw_value,
      reason: r.reason,
      detail: r.detail,
    })),
  };
}

export async function archiveStatus(db: Db) {
  const months = await db.query<{
    month: string;
    state: string;
    rows: string;
    bytes: string;
    archived_at: Date | null;
    restored_at: Date | null;
  }>(
    `select to_char(month, 'YYYY-MM') as month, state, rows::text as rows, bytes::text as bytes, archived_at, restored_at
       from archive_manifest order by month`,
  );
  const [hot] = await db.query<{ oldest: string | null; newest: string | null }>(
    `select to_char(min(rate_timestamp), 'YYYY-MM-DD') as oldest, to_char(max(rate_timestamp), 'YYYY-MM-DD') as newest from fact_rates_history`,
  );
  const archived = months.filter((m) => m.state === 'archived');
  return {
    hot: { oldestDay: hot?.oldest ?? null, newestDay: hot?.newest ?? null },
    archived: {
      months: archived.length,
      rows: archived.reduce((s, m) => s + Number(m.rows), 0),
      bytes: archived.reduce((s, m) => s + Number(m.bytes), 0),
    },
    months: months.map((m) => ({
      month: m.month,
      state: m.state,
      rows: Number(m.rows),
      bytes: Number(m.bytes),
      archivedAt: m.archived_at?.toISOString() ?? null,
      restoredAt: m.restored_at?.toISOString() ?? null,
    })),
  };
}

/**
 * The first and last day GET /api/v1/history has for a pair when no source is asked: the days both USD legs have
 * in api.daily_rates, each leg from the source history reads it from. Null when there are none. The dashboard
 * opens its history on them.
 */
export async function historyRange(db: Db, base: string, quote: string) {
  await requireKnown(db, 'pair', [base, quote]);
  const pair = `${base}/${quote}`;
  const sources: Record<string, string> = {};
  let firstDay = '';
  let lastDay = '9999-12-31';
  for (const leg of [base, quote].filter((code) => code !== 'USD')) {
    const source = await legSourceOf(db, leg);
    if (!source) return { pair, sources, firstDay: null, lastDay: null };
    sources[leg] = source;
    // min/max of date_key (the table's key) rather than of the view's date: an index scan stops at the first row.
    const [days] = await db.query<{ first: string | null; last: string | null }>(
      `select to_char(to_date(min(date_key)::text, 'YYYYMMDD'), 'YYYY-MM-DD') as first,
              to_char(to_date(max(date_key)::text, 'YYYYMMDD'), 'YYYY-MM-DD') as last
         from api.daily_rates where base = 'USD' and quote = $1 and source = $2`,
      [leg, source],
    );
    if (!days?.first || !days.last) return { pair, sources, firstDay: null, lastDay: null };
    if (days.first > firstDay) firstDay = days.first;
    if (days.last < lastDay) lastDay = days.last;
  }
  return firstDay && firstDay <= lastDay ? { pair, sources, firstDay, lastDay } : { pair, sources, firstDay: null, lastDay: null };
}
