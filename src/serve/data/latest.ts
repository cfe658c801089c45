import type { Db } from '../../warehouse/db.js';
import { HttpError } from '../http-error.js';
import { requireKnown } from './currencies.js';
import { hasSqlState, SqlState } from '../../warehouse/sqlstate.js';

export interface LatestRates {
  base: string;
  rates: { quote: string; rate: string; asOf: string | null; source: string | null }[];
}

/**
 * The latest rate of every currency against base: the providers' own USD rates (preferred source) for USD,
 * api.cross_rates (USD→quote ÷ USD→base) for any other base. Only rates in force: a retired or stale quote is left
 * out; a base not in force is a 404 naming it.
 */
export async function latestRates(db: Db, base: string): Promise<LatestRates> {
  await requireKnown(db, 'base', [base]);
  const rows =
    base === 'USD'
      ? await db.query<{ quote: string; rate: string; as_of: Date | null; source: string | null }>(
          `select quote, rate::text as rate, as_of, source from api.latest_rates where base = 'USD' and preferred order by quote`,
        )
      : await db.query<{ quote: string; rate: string; as_of: Date | null; source: string | null }>(
          `select to_currency as quote, rate::text as rate, as_of, to_source as source
           from api.cross_rates where from_currency = $1 and to_currency <> $1 order by to_currency`,
          [base],
        );
  // A base not in force (retired or stale) has no cross rates: say why, as api.convert would.
  if (rows.length === 0 && base !== 'USD') await requireInForce(db, base);
  return { base, rates: rows.map((r) => ({ quote: r.quote, rate: r.rate, asOf: r.as_of?.toISOString() ?? null, source: r.source })) };
}

/** 404 with api.usd_rate's refusal (it names the currency, its last value's time and source) when code has no rate in force now. */
async function requireInForce(db: Db, code: string): Promise<void> {
  try {
    await db.query('select rate from api.usd_rate($1)', [code]);
  } catch (error) {
    if (hasSqlState(error, SqlState.no_data_found)) throw new HttpError(404, (error as Error).message);
    throw error;
  }
}
