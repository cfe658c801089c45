import type { Db } from '../../src/warehouse/db.js';
import { closeEnough, D, dailyKey, monthlyKey, type OracleDaily, type OracleMonthly } from './read-models-oracle.js';

/**
 * rates_daily and rates_monthly as stored, column by column against the oracle's rows: open/high/low/close exact,
 * average/stddev to 15 significant digits, volatility_pct to its 6 stored decimals, the rest equal.
 */

interface StoredDaily {
  date_key: number;
  quote: string;
  open: string;
  high: string;
  low: string;
  close: string;
  average: string;
  stddev: string | null;
  observations: number;
  carried: boolean;
  changes: number;
  in_force_from: Date;
  in_force_to: Date;
  close_as_of: Date;
}

interface StoredMonthly {
  month_key: number;
  quote: string;
  open: string;
  high: string;
  low: string;
  close: string;
  average: string;
  stddev: string | null;
  volatility_pct: string | null;
  observations: number;
  publishing_days: number;
  days_in_force: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

export async function dailyMismatches(db: Db, source: string, expected: Map<string, OracleDaily>): Promise<string[]> {
  const rows = await db.query<StoredDaily & Record<string, unknown>>(
    `select d.date_key, q.currency_code as quote, d.open::text, d.high::text, d.low::text, d.close::text, d.average::text,
            d.stddev::text, d.observations, d.carried, d.changes, d.in_force_from, d.in_force_to, d.close_as_of
       from rates_daily d
       join dim_currency q on q.currency_id = d.quote_currency_id
       join dim_currency b on b.currency_id = d.base_currency_id and b.currency_code = 'USD'
       join dim_source s on s.source_id = d.source_id and s.source_name = $1`,
    [source],
  );
  const out: string[] = [];
  const seen = new Set<string>();
  for (const row of rows) {
    const key = dailyKey(row.date_key, row.quote);
    seen.add(key);
    const want = expected.get(key);
    if (!want) {
      out.push(`${source} daily ${key}: stored, expected no row (close ${row.close} of ${iso(row.close_as_of.getTime())})`);
      continue;
    }
    const wrong: string[] = [];
    for (const column of ['open', 'high', 'low', 'close'] as const) {
      if (!new D(row[column]).eq(want[column])) wrong.push(`${column} ${row[column]} ≠ ${want[column].toFixed()}`);
    }
    if (!closeEnough(new D(row.average), want.average)) wrong.push(`average ${row.average} ≠ ${want.average.toFixed()}`);
    if (!sameOptional(row.stddev, want.stddev, want.average)) wrong.push(`stddev ${row.stddev} ≠ ${want.stddev?.toFixed() ?? null}`);
    if (row.observations !== want.observations) wrong.push(`observations ${row.observations} ≠ ${want.observations}`);
    if (row.carried !== want.carried) wrong.push(`carried ${row.carried} ≠ ${want.carried}`);
    if (row.changes !== want.changes) wrong.push(`changes ${row.changes} ≠ ${want.changes}`);
    if (row.in_force_from.getTime() !== want.inForceFrom)
      wrong.push(`in_force_from ${iso(row.in_force_from.getTime())} ≠ ${iso(want.inForceFrom)}`);
    if (row.in_force_to.getTime() !== want.inForceTo) wrong.push(`in_force_to ${iso(row.in_force_to.getTime())} ≠ ${iso(want.inForceTo)}`);
    if (row.close_as_of.getTime() !== want.closeAsOf) wrong.push(`close_as_of ${iso(row.close_as_of.getTime())} ≠ ${iso(want.closeAsOf)}`);
    if (wrong.length > 0) out.push(`${source} daily ${key}: ${wrong.join('; ')}`);
  }
  for (const [key, want] of expected) {
    if (!seen.has(key))
      out.push(
        `${source} daily ${key}: missing (expected close ${want.close.toFixed()} of ${iso(want.closeAsOf)}, in force ${iso(want.inForceFrom)}..${iso(want.inForceTo)})`,
      );
  }
  return out.sort();
}

export async function monthlyMismatches(db: Db, source: string, expected: Map<string, OracleMonthly>): Promise<string[]> {
  const rows = await db.query<StoredMonthly & Record<string, unknown>>(
    `select m.month_key, q.currency_code as quote, m.open::text, m.high::text, m.low::text, m.close::text, m.average::text,
            m.stddev::text, m.volatility_pct::text, m.observations, m.publishing_days, m.days_in_force
       from rates_monthly m
       join dim_currency q on q.currency_id = m.quote_currency_id
       join dim_currency b on b.currency_id = m.base_currency_id and b.currency_code = 'USD'
       join dim_source s on s.source_id = m.source_id and s.source_name = $1`,
    [source],
  );
  const out: string[] = [];
  const seen = new Set<string>();
  for (const row of rows) {
    const key = monthlyKey(row.month_key, row.quote);
    seen.add(key);
    const want = expected.get(key);
    if (!want) {
      out.push(`${source} monthly ${key}: stored, expected no row`);
      continue;
    }
    const wrong: string[] = [];
    for (const column of ['open', 'high', 'low', 'close'] as const) {
      if (!new D(row[column]).eq(want[column])) wrong.push(`${column} ${row[column]} ≠ ${want[column].toFixed()}`);
    }
    if (!closeEnough(new D(row.average), want.average)) wrong.push(`average ${row.average} ≠ ${want.average.toFixed()}`);
    if (!sameOptional(row.stddev, want.stddev, want.average)) wrong.push(`stddev ${row.stddev} ≠ ${want.stddev?.toFixed() ?? null}`);
    // Stored rounded to 6 decimals: within one unit of the last one of the exact value.
    const volatilityOk =
      row.volatility_pct === null || want.volatilityPct === null
        ? row.volatility_pct === want.volatilityPct
        : new D(row.volatility_pct).minus(want.volatilityPct).abs().lte('0.000001');
    if (!volatilityOk) wrong.push(`volatility_pct ${row.volatility_pct} ≠ ${want.volatilityPct?.toFixed() ?? null}`);
    if (row.observations !== want.observations) wrong.push(`observations ${row.observations} ≠ ${want.observations}`);
    if (row.publishing_days !== want.publishingDays) wrong.push(`publishing_days ${row.publishing_days} ≠ ${want.publishingDays}`);
    if (row.days_in_force !== want.daysInForce) wrong.push(`days_in_force ${row.days_in_force} ≠ ${want.daysInForce}`);
    if (wrong.length > 0) out.push(`${source} monthly ${key}: ${wrong.join('; ')}`);
  }
  for (const key of expected.keys()) if (!seen.has(key)) out.push(`${source} monthly ${key}: missing`);
  return out.sort();
}

function sameOptional(actual: string | null, expected: InstanceType<typeof D> | null, scale: InstanceType<typeof D>): boolean {
  if (actual === null || expected === null) return actual === null && expected === null;
  return closeEnough(new D(actual), expected, expected.isZero() ? scale : expected);
}
