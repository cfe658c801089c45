import type { SourceName } from '../sources/types.js';
import { currencyInfo } from './currencies.js';
import type { Db } from './db.js';

export type SourceTier = 'primary' | 'fallback' | 'reference';

/** Upserts the source's row; returns its id. */
export async function upsertSource(db: Db, name: SourceName | string, tier: SourceTier, endpoint: string): Promise<number> {
  const [row] = await db.query<{ source_id: number }>(
    `insert into dim_source (source_name, tier, endpoint) values ($1, $2, $3)
     on conflict (source_name) do update
        set tier = excluded.tier, endpoint = excluded.endpoint, is_active = true,
            updated_at = case when (dim_source.tier, dim_source.endpoint, dim_source.is_active)
                                   is distinct from (excluded.tier, excluded.endpoint, true)
                              then now() else dim_source.updated_at end
     returning source_id`,
    [name, tier, endpoint],
  );
  return row!.source_id;
}

/** Ensures dim_currency rows for the codes; returns code → currency_id. */
export async function upsertCurrencies(db: Db, codes: Iterable<string>): Promise<Map<string, number>> {
  const infos = [...new Set(codes)].map(currencyInfo);
  const rows = await db.query<{ currency_code: string; currency_id: number }>(
    `with incoming as (
        select * from unnest($1::text[], $2::text[], $3::text[], $4::smallint[], $5::boolean[])
                 as t(code, name, symbol, minor_units, is_iso)
     ), inserted as (
        insert into dim_currency (currency_code, currency_name, symbol, minor_units, is_iso)
        select code, name, symbol, minor_units, is_iso from incoming
        on conflict (currency_code) do nothing
        returning currency_code, currency_id
     )
     select currency_code, currency_id from inserted
     union all
     select c.currency_code, c.currency_id from dim_currency c join incoming i on i.code = c.currency_code`,
    [infos.map((i) => i.code), infos.map((i) => i.name), infos.map((i) => i.symbol), infos.map((i) => i.minorUnits), infos.map((i) => i.isIso)],
  );
  return new Map(rows.map((r) => [r.currency_code, r.currency_id]));
}
