import type { Db } from './db.js';

/** Each pair's last `perPair` stored rates for a source before `before`, oldest first (for z-scores). */
export async function recentHistory(db: Db, source: string, base: string, before: Date, perPair = 30): Promise<Map<string, string[]>> {
  const since = new Date(before.getTime() - 180 * 86_400_000);
  const rows = await db.query<{ quote: string; rates: string[] }>(
    `select q.currency_code as quote, array_agg(t.rate::text order by t.date_key, t.rate_timestamp) as rates
       from (select h.quote_currency_id, h.rate, h.date_key, h.rate_timestamp,
                    row_number() over (partition by h.quote_currency_id order by h.date_key desc, h.rate_timestamp desc) as rn
               from fact_rates_history h
               join dim_currency b on b.currency_id = h.base_currency_id and b.currency_code = $1
               join dim_source s on s.source_id = h.source_id and s.source_name = $2
              where h.date_key >= $3 and h.rate_timestamp < $4) t
       join dim_currency q on q.currency_id = t.quote_currency_id
      where t.rn <= $5
      group by q.currency_code`,
    [base, source, Number(since.toISOString().slice(0, 10).replaceAll('-', '')), before, perPair],
  );
  return new Map(rows.map((r) => [r.quote, r.rates]));
}
