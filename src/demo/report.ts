import type { Db } from '../warehouse/db.js';

/** What the demo prints after loading: counts, and a few answers straight from the views. */
export interface DemoReport {
  historyRows: number;
  currencies: number;
  nonIsoCurrencies: number;
  sources: number;
  rejected: number;
  partitions: string[];
  rejects: { quote: string; value: string | null; reason: string }[];
  latest: { quote: string; rate: string; asOf: string }[];
  mostVolatile: { quote: string; month: number; volatilityPct: string }[];
  comparison: { source: string; rate: string; deviationPct: string }[];
  daily: { date: number; open: string; close: string; min: string; max: string }[];
}

export async function demoReport(db: Db): Promise<DemoReport> {
  const one = async (sql: string) => Number((await db.query<{ n: string }>(sql))[0]?.n ?? 0);
  return {
    historyRows: await one('select count(*) as n from fact_rates_history'),
    currencies: await one('select count(*) as n from dim_currency'),
    nonIsoCurrencies: await one('select count(*) as n from dim_currency where not is_iso'),
    sources: await one('select count(*) as n from dim_source'),
    rejected: await one('select count(*) as n from rejected_rates'),
    partitions: (
      await db.query<{ name: string }>(
        `select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
        where i.inhparent = 'fact_rates_history'::regclass and exists (select 1 from fact_rates_history h where h.tableoid = c.oid)
        order by 1`,
      )
    ).map((r) => r.name),
    rejects: await db.query(`select quote_code as quote, raw_value as value, reason from rejected_rates order by rejected_id limit 5`),
    latest: await db.query(
      `select quote_code as quote, rate::text as rate, rate_timestamp::text as "asOf" from vw_rates_latest
        where base_code = 'USD' and source_name = 'open-er-api' and quote_code in ('EUR', 'GBP', 'JPY', 'CHF', 'CNY', 'INR')
        order by quote_code`,
    ),
    mostVolatile: await db.query(
      `select quote_code as quote, month_key as month, volatility_pct::text as "volatilityPct" from vw_rates_monthly_agg
        where source_name = 'open-er-api' and observations > 5 and volatility_pct is not null
        order by month_key desc, volatility_pct desc limit 3`,
    ),
    comparison: await db.query(
      `select source_name as source, rate::text as rate, deviation_pct::text as "deviationPct" from vw_rates_comparison
        where base_code = 'USD' and quote_code = 'EUR' order by source_name`,
    ),
    daily: await db.query(
      `select date_key as date, open_rate::text as open, close_rate::text as close, min_rate::text as min, max_rate::text as max
         from vw_rates_daily_agg where base_code = 'USD' and quote_code = 'EUR' and source_name = 'frankfurter'
        order by date_key desc limit 5`,
    ),
  };
}
