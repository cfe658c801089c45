import type { Db } from './db.js';
import { dateKeyOf } from '../calendar/days.js';

/**
 * Each pair's last `perPair` stored rates for a source before `before`, oldest first (for z-scores).
 * One index-backed LIMIT per pair (the history primary key leads with base, quote, source, date_key).
 */
export async function recentHistory(db: Db, source: string, base: string, before: Date, perPair = 30): Promise<Map<string, string[]>> {
  const since = new Date(before.getTime() - 180 * 86_400_000);
  // Both date-key bounds: the planner then reads only the window's partitions, not the empty upcoming ones.
  const rows = await db.query<{ quote: string; rates: string[] }>(
    `select q.currency_code as quote,
            array(select t.rate::text
                    from (select h.rate, h.date_key, h.rate_timestamp
                            from fact_rates_history h
                           where h.base_currency_id = c.base_currency_id and h.quote_currency_id = c.quote_currency_id
                             and h.source_id = c.source_id and h.date_key between $3 and $6 and h.rate_timestamp < $4
                           order by h.date_key desc, h.rate_timestamp desc
                           limit $5) t
                   order by t.date_key, t.rate_timestamp) as rates
       from fact_rates_current c
       join dim_currency b on b.currency_id = c.base_currency_id and b.currency_code = $1
       join dim_source s on s.source_id = c.source_id and s.source_name = $2
       join dim_currency q on q.currency_id = c.quote_currency_id`,
    [base, source, dateKeyOf(since), before, perPair, dateKeyOf(before)],
  );
  return new Map(rows.map((r) => [r.quote, r.rates]));
}
