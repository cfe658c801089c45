import { coldUsdRates } from '../../tiers/cold-rate.js';
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
  /** A rate came from an archived month (Parquet), which api.convert does not search. */
  archived: boolean;
}

interface Leg {
  rate: string;
  asOf: Date | null;
  source: string | null;
}

/**
 * api.convert: the amount in `from` expressed in `to`, exactly as the database computes it for every reader. At a
 * time whose rates are archived, the same rule (the rate in force at `at`, best source first) over the Parquet
 * months, and the same numeric arithmetic in PostgreSQL.
 */
export async function convert(db: Db, amount: string, from: string, to: string, at: Date | null, cacheDir: string): Promise<Conversion> {
  let rows: { amount: string; rate: string; converted: string; as_of: Date | null; from_source: string | null; to_source: string | null }[];
  try {
    rows = await db.query(
      `select from_amount::text as amount, rate::text as rate, converted::text as converted, as_of, from_source, to_source
         from api.convert($1::numeric, $2, $3, $4::timestamptz)`,
      [amount, from, to, at],
    );
  } catch (error) {
    const code = (error as { code?: string }).code;
    // P0002: no rate at or before `at` in PostgreSQL (or none yet) for one of the currencies.
    if (code === 'P0002') {
      if (at) return convertAcrossTiers(db, amount, from, to, at, cacheDir);
      throw new HttpError(404, (error as Error).message);
    }
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
    at: at?.toISOString() ?? null, fromSource: row.from_source, toSource: row.to_source, archived: false,
  };
}

async function convertAcrossTiers(db: Db, amount: string, from: string, to: string, at: Date, cacheDir: string): Promise<Conversion> {
  const legs = new Map<string, Leg>([['USD', { rate: '1', asOf: null, source: null }]]);
  for (const code of [from, to].filter((c) => c !== 'USD')) {
    const [hot] = await db.query<{ rate: string | null; as_of: Date | null; source: string | null }>(
      'select rate::text as rate, as_of, source from api.usd_rate($1, $2::timestamptz)', [code, at]);
    if (hot?.rate) legs.set(code, { rate: hot.rate, asOf: hot.as_of, source: hot.source });
  }
  const missing = [from, to].filter((code) => !legs.has(code));
  const cold = missing.length ? await coldUsdRates(db, missing, at, cacheDir) : new Map<string, Leg>();
  const legOf = (code: string): Leg => {
    const leg = legs.get(code) ?? cold.get(code);
    if (!leg) throw new HttpError(404, `no rate for ${code} at or before ${at.toISOString()} (hot or archived)`);
    return leg;
  };
  const f = legOf(from);
  const t = legOf(to);
  const archived = cold.size > 0;
  // api.convert's arithmetic, in PostgreSQL's numeric.
  const [row] = await db.query<{ amount: string; rate: string; converted: string }>(
    `select $3::numeric::text as amount, trim_scale($2::numeric / $1::numeric)::text as rate,
            trim_scale($3::numeric * $2::numeric / $1::numeric)::text as converted`,
    [f.rate, t.rate, amount],
  );
  const asOf = from === 'USD' ? t.asOf : to === 'USD' ? f.asOf : [f.asOf!, t.asOf!].sort((a, b) => a.getTime() - b.getTime())[0]!;
  return {
    amount: row!.amount, from, to, rate: row!.rate, converted: row!.converted, asOf: asOf?.toISOString() ?? null, at: at.toISOString(),
    fromSource: f.source, toSource: t.source, archived,
  };
}
