import type { Db } from '../../warehouse/db.js';
import { badParameter } from '../http-error.js';

/** Codes that have a latest USD rate (plus USD): the ones the dashboard offers and the API can answer for. */
export async function ratedCurrencies(db: Db): Promise<{ code: string; name: string | null; source: string | null }[]> {
  return db.query(
    `select c.code, c.name, l.source from api.currencies c
       left join api.latest_rates l on l.base = 'USD' and l.quote = c.code and l.preferred
      where c.code = 'USD' or l.quote is not null
      order by c.code`,
  );
}

/** 400 naming the parameter unless every code is in api.currencies. */
export async function requireKnown(db: Db, parameter: string, codes: string[]): Promise<void> {
  const rows = await db.query<{ code: string }>('select code from api.currencies where code = any($1::text[])', [codes]);
  const known = new Set(rows.map((r) => r.code));
  const unknown = codes.find((code) => !known.has(code));
  if (unknown) throw badParameter(parameter, `unknown currency ${unknown} (GET /api/v1/currencies lists the known ones)`);
}
