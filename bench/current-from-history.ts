import type { Db } from '../src/warehouse/db.js';

export interface HistoryRange {
  baseId: number;
  sourceId: number;
  /** yyyymmdd, inclusive. */
  fromDateKey: number;
  toDateKey: number;
  now: Date;
}

/**
 * For the benches and tests that generate history straight into fact_rates_history (too much for the writer): moves
 * fact_rates_current forward, for each pair, to the source's latest publication within the range that carried
 * it (its value: the pair's last history row at or before that publication), where that publication is newer than
 * what the current row holds (or there is none); the replaced rate becomes previous_rate. Returns how many current
 * rows were written.
 */
export async function advanceCurrentFromHistory(db: Db, range: HistoryRange): Promise<number> {
  const rows = await db.query(
    `insert into fact_rates_current as f (base_currency_id, quote_currency_id, source_id, rate, rate_timestamp,
                                          change_reason, last_extraction_id, updated_at)
     select $1, l.quote_id, $2, h.rate, l.as_of,
            case when h.previous_rate is null then 'initial' else 'moved' end, h.extraction_id, $5
       from (select q.quote_id, max(p.as_of) as as_of
               from source_publications p
               cross join unnest(p.quote_ids) as q(quote_id)
              where p.source_id = $2 and p.base_currency_id = $1
                and p.as_of >= fx_day_start(to_date($3::text, 'YYYYMMDD')) and p.as_of < fx_day_start(to_date($4::text, 'YYYYMMDD') + 1)
              group by q.quote_id) l
       join lateral (
            select rate, previous_rate, extraction_id from fact_rates_history
             where base_currency_id = $1 and quote_currency_id = l.quote_id and source_id = $2
               and date_key <= fx_date_key(l.as_of) and rate_timestamp <= l.as_of
             order by date_key desc, rate_timestamp desc limit 1) h on true
     on conflict (base_currency_id, quote_currency_id, source_id) do update
        set rate = excluded.rate, rate_timestamp = excluded.rate_timestamp, previous_rate = f.rate,
            change_pct = fx_change_pct(f.rate, excluded.rate), change_reason = excluded.change_reason,
            flags = '{}', last_extraction_id = excluded.last_extraction_id, updated_at = excluded.updated_at
      where f.rate_timestamp < excluded.rate_timestamp
     returning 1`,
    [range.baseId, range.sourceId, range.fromDateKey, range.toDateKey, range.now],
  );
  // Whether each is in force now, as the publication writer leaves it.
  await db.query('select fx_refresh_current($1::smallint)', [range.sourceId]);
  return rows.length;
}
