import type { Db } from '../../warehouse/db.js';
import { HttpError } from '../http-error.js';
import { requireKnown } from './currencies.js';

export interface Conversion {
  amount: string;
  from: string;
  to: string;
  rate: string;
  converted: string;
  asOf: string | null;
  at: string | null;
  fromSource: string | null;
  toSource: string | null;
}

/** api.convert: the amount in `from` expressed in `to`, exactly as the database computes it for every reader. */
export async function convert(db: Db, amount: string, from: string, to: string, at: Date | null): Promise<Conversion> {
  let rows: { amount: string; rate: string; converted: string; as_of: Date | null; from_source: string | null; to_source: string | null }[];
  try {
    rows = await db.query(
      `select from_amount::text as amount, rate::text as rate, converted::text as converted, as_of, from_source, to_source
         from api.convert($1::numeric, $2, $3, $4::timestamptz)`,
      [amount, from, to, at],
    );
  } catch (error) {
    // P0002: no rate at or before `at` (or none yet) for one of the currencies.
    const code = (error as { code?: string }).code;
    if (code === 'P0002') throw new HttpError(404, (error as Error).message);
    // 22023: unknown currency: XXX. One query per request: the codes are checked only when api.convert refuses one.
    if (code === '22023') {
      await requireKnown(db, 'from', [from]);
      await requireKnown(db, 'to', [to]);
    }
    throw error;
  }
  const row = rows[0];
  if (!row) throw new HttpError(404, `no rate for ${from}/${to}`);
  return {
    amount: row.amount, from, to, rate: row.rate, converted: row.converted, asOf: row.as_of?.toISOString() ?? null,
    at: at?.toISOString() ?? null, fromSource: row.from_source, toSource: row.to_source,
  };
}
