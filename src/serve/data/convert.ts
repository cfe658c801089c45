import { archivedValuesAt } from '../../tiers/cold-rate.js';
import { conversionText } from '../../transform/pg-numeric.js';
import type { Db } from '../../warehouse/db.js';
import { HttpError } from '../http-error.js';
import { requireKnown } from './currencies.js';
import { hasSqlState, SqlState } from '../../warehouse/sqlstate.js';

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
  /** A rate came from an archived month's Parquet file, which api.convert does not read. */
  archived: boolean;
}

/** A USD leg in force at an instant: from which source, and the publication its value is that of. */
type LegInForce = {
  code: string;
  source: string;
  asOf: Date;
  /** The publication's month is archived to Parquet (its publications and daily rows stay in PostgreSQL). */
  archived: boolean;
};

/**
 * api.convert: the amount in `from` expressed in `to`, exactly as the database computes it for every reader. A
 * currency not in force at `at` (retired, stale, never published by then) is a 404 with the database's message
 * naming it, its last value's time and source. When a leg's publication at `at` lies in an archived month, the
 * same rule — the rates in force, both legs from the best-ranked source that has both — with each value read from
 * PostgreSQL's daily rows where they hold it, else from the Parquet files, and api.convert's numeric arithmetic.
 */
export async function convert(db: Db, amount: string, from: string, to: string, at: Date | null, cacheDir: string): Promise<Conversion> {
  if (!at) return convertInPostgres(db, amount, from, to, null);
  const archived = await convertWithArchive(db, amount, from, to, at, cacheDir);
  if (archived) return archived;
  try {
    return await convertInPostgres(db, amount, from, to, at);
  } catch (error) {
    // An archive committing between the two reads: the leg's month was hot a moment ago and is in the archive now
    // (api.convert refuses it, P0002). Asked again, the archived path answers it.
    if (!(error instanceof HttpError && error.status === 404)) throw error;
    const now = await convertWithArchive(db, amount, from, to, at, cacheDir);
    if (now) return now;
    throw error;
  }
}

/** api.convert's answer, its refusals as 404 (P0002: not in force) or the unknown currency named (22023). */
async function convertInPostgres(db: Db, amount: string, from: string, to: string, at: Date | null): Promise<Conversion> {
  let rows: { amount: string; rate: string; converted: string; as_of: Date | null; from_source: string | null; to_source: string | null }[];
  try {
    rows = await db.query(
      `select from_amount::text as amount, rate::text as rate, converted::text as converted, as_of, from_source, to_source
         from api.convert($1::numeric, $2, $3, $4::timestamptz)`,
      [amount, from, to, at],
    );
  } catch (error) {
    // No rate in force at `at` (or now) for one of the currencies; the message names it.
    if (hasSqlState(error, SqlState.no_data_found)) throw new HttpError(404, (error as Error).message);
    // Unknown currency: XXX. One query per request: the codes are checked only when api.convert refuses one.
    if (hasSqlState(error, SqlState.invalid_parameter_value)) {
      await requireKnown(db, 'from', [from]);
      await requireKnown(db, 'to', [to]);
    }
    throw error;
  }
  const row = rows[0];
  if (!row) throw new HttpError(404, `no rate for ${from}/${to}`);
  return {
    amount: row.amount,
    from,
    to,
    rate: row.rate,
    converted: row.converted,
    asOf: row.as_of?.toISOString() ?? null,
    at: at?.toISOString() ?? null,
    fromSource: row.from_source,
    toSource: row.to_source,
    archived: false,
  };
}

/** The conversion at `at` when a leg's publication is in an archived month; null otherwise (api.convert answers). */
async function convertWithArchive(
  db: Db,
  amount: string,
  from: string,
  to: string,
  at: Date,
  cacheDir: string,
): Promise<Conversion | null> {
  const codes = [...new Set([from, to])].filter((code) => code !== 'USD');
  const legs = await chosenLegs(db, codes, at);
  const chosen = codes.map((code) => legs.find((leg) => leg.code === code));
  // A currency unknown or not in force: api.convert's refusal says which.
  if (chosen.some((leg) => leg === undefined)) return null;
  if (!chosen.some((leg) => leg!.archived)) return null;

  const inForce = chosen as LegInForce[];
  const rates = await Promise.all(inForce.map((leg) => valueInPostgres(db, leg)));
  const missing = inForce.filter((_, i) => rates[i] === null);
  const cold = await archivedValuesAt(
    db,
    missing.map((leg) => ({ code: leg.code, source: leg.source, at: leg.asOf })),
    cacheDir,
  );
  const values = new Map<string, { rate: string; asOf: Date | null; source: string | null }>([
    ['USD', { rate: '1', asOf: null, source: null }],
  ]);
  inForce.forEach((leg, i) => {
    const rate = rates[i] ?? cold[missing.indexOf(leg)]?.rate;
    if (!rate) throw new HttpError(404, `no stored value of ${leg.code} from ${leg.source} at ${leg.asOf.toISOString()} (hot or archived)`);
    values.set(leg.code, { rate, asOf: leg.asOf, source: leg.source });
  });
  const f = values.get(from)!;
  const t = values.get(to)!;
  // api.convert's arithmetic: PostgreSQL's numeric, in TypeScript (pg-numeric.ts).
  const row = conversionText(amount, f.rate, t.rate);
  const asOf = from === 'USD' ? t.asOf : to === 'USD' ? f.asOf : [f.asOf!, t.asOf!].sort((a, b) => a.getTime() - b.getTime())[0]!;
  return {
    amount: row.amount,
    from,
    to,
    rate: row.rate,
    converted: row.converted,
    asOf: asOf?.toISOString() ?? null,
    at: at.toISOString(),
    fromSource: f.source,
    toSource: t.source,
    archived: missing.length > 0,
  };
}

/**
 * The legs api.convert takes at `at` (fx_chosen_legs, migration 0023: both from the best ranked source that has both
 * in force, else each from its own), with whether the publication's month is in the archive. codes: one or two
 * currencies other than USD.
 */
async function chosenLegs(db: Db, codes: string[], at: Date): Promise<LegInForce[]> {
  if (codes.length === 0) return [];
  return db.query<LegInForce>(
    `select q.currency_code as code, c.source_name as source, c.as_of as "asOf",
            fx_month_archived(date_trunc('month', c.as_of at time zone 'UTC')::date) as archived
       from fx_chosen_legs((select currency_id from dim_currency where currency_code = $1),
                           (select currency_id from dim_currency where currency_code = $2), $3) c
       join dim_currency q on q.currency_id = c.currency_id`,
    [codes[0], codes.at(-1), at],
  );
}

/**
 * The leg's value as PostgreSQL still holds it: fx_rate_in_force at the leg's publication, the rule api.convert
 * applies. Null when only the archive knows it (fx_rate_in_force refuses it: P0002).
 */
async function valueInPostgres(db: Db, leg: LegInForce): Promise<string | null> {
  try {
    const [row] = await db.query<{ rate: string | null }>(
      `select r.rate::text as rate
         from fx_rate_in_force((select currency_id from dim_currency where currency_code = 'USD'),
                               (select currency_id from dim_currency where currency_code = $1),
                               (select source_id from dim_source where source_name = $2), $3::timestamptz) r`,
      [leg.code, leg.source, leg.asOf],
    );
    return row?.rate ?? null;
  } catch (error) {
    if (hasSqlState(error, SqlState.no_data_found)) return null;
    throw error;
  }
}
