import { currencyInfo } from './currencies.js';
import type { Db } from './db.js';
import { redactUrl } from '../util/secrets.js';

export type SourceRank = 'primary' | 'fallback' | 'reference';

/**
 * Upserts the source's row (name: a SourceName, or a test's own source); returns its id. Existing rows are updated in place: an INSERT … ON CONFLICT
 * would burn a value of the smallint identity on every run.
 */
export async function upsertSource(db: Db, name: string, rank: SourceRank, baseUrl: string): Promise<number> {
  // Stored without its user-info (a credential: src/util/secrets.ts).
  const endpoint = redactUrl(baseUrl);
  const [updated] = await db.query<{ source_id: number }>(
    `update dim_source
        set rank = $2, endpoint = $3, is_active = true,
            updated_at = case when (rank, endpoint, is_active) is distinct from ($2, $3, true) then now() else updated_at end
      where source_name = $1
      returning source_id`,
    [name, rank, endpoint],
  );
  if (updated) return updated.source_id;
  const [row] = await db.query<{ source_id: number }>(
    `insert into dim_source (source_name, rank, endpoint) values ($1, $2, $3)
     on conflict (source_name) do update set rank = excluded.rank
     returning source_id`,
    [name, rank, endpoint],
  );
  return row!.source_id;
}

/** The source's id, keeping its rank; a source never seen before is added as a reference. */
export async function existingSourceId(db: Db, name: string, endpoint: string): Promise<number> {
  const [row] = await db.query<{ source_id: number }>('select source_id from dim_source where source_name = $1', [name]);
  return row?.source_id ?? upsertSource(db, name, 'reference', endpoint);
}

/** Ensures dim_currency rows for the codes (inserting only the new ones); returns code → currency_id. */
export async function upsertCurrencies(db: Db, codes: Iterable<string>): Promise<Map<string, number>> {
  const infos = [...new Set(codes)].map(currencyInfo);
  const rows = await db.query<{ currency_code: string; currency_id: number }>(
    `with incoming as (
        select * from unnest($1::text[], $2::text[], $3::text[], $4::smallint[], $5::boolean[])
                 as t(code, name, symbol, minor_units, is_iso)
     ), inserted as (
        insert into dim_currency (currency_code, currency_name, symbol, minor_units, is_iso)
        select code, name, symbol, minor_units, is_iso from incoming
         where not exists (select 1 from dim_currency c where c.currency_code = incoming.code)
        on conflict (currency_code) do nothing
        returning currency_code, currency_id
     )
     select currency_code, currency_id from inserted
     union all
     select c.currency_code, c.currency_id from dim_currency c join incoming i on i.code = c.currency_code`,
    [
      infos.map((i) => i.code),
      infos.map((i) => i.name),
      infos.map((i) => i.symbol),
      infos.map((i) => i.minorUnits),
      infos.map((i) => i.isIso),
    ],
  );
  return new Map(rows.map((r) => [r.currency_code, r.currency_id]));
}
