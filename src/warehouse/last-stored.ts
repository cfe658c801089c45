import type { Db } from './db.js';
import { dateKeyOf } from '../calendar/days.js';

/**
 * Each pair's last history rate of a source before an instant, as exact text, keyed by quote currency id; pairs with
 * no such row are absent. One index-backed LIMIT 1 per pair.
 */
export async function lastStoredRates(
  db: Db,
  baseId: number,
  sourceId: number,
  quoteIds: number[],
  before: Date,
): Promise<Map<number, string>> {
  const rows = await db.query<{ quote_id: number; rate: string }>(
    `select q.id as quote_id, h.rate::text as rate
       from unnest($3::smallint[]) as q(id)
       join lateral (
            select rate from fact_rates_history
             where base_currency_id = $1 and quote_currency_id = q.id and source_id = $2
               and date_key <= $4 and rate_timestamp < $5
             order by date_key desc, rate_timestamp desc limit 1) h on true`,
    [baseId, sourceId, quoteIds, dateKeyOf(before), before],
  );
  return new Map(rows.map((r) => [r.quote_id, r.rate]));
}
