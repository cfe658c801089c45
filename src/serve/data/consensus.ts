import type { Db } from '../../warehouse/db.js';
import { HttpError } from '../http-error.js';
import { requireKnown } from './currencies.js';

export interface Consensus {
  base: string;
  quote: string;
  rate: string;
  asOf: string;
  at: string | null;
  sourceCount: number;
  sources: string[];
  spreadPct: string | null;
  excluded: unknown[];
}

/** api.consensus_rate at `at` (now when null); 404 when no source has the pair in force then. */
export async function consensus(db: Db, base: string, quote: string, at: Date | null): Promise<Consensus> {
  await requireKnown(db, 'base', [base]);
  await requireKnown(db, 'quote', [quote]);
  const [row] = await db.query<{
    rate: string;
    as_of: Date;
    source_count: number;
    sources: string[];
    spread_pct: string | null;
    excluded: unknown[];
  }>(
    `select rate::text as rate, as_of, source_count, sources, spread_pct::text as spread_pct, excluded
       from api.consensus_rate($1, $2, $3::timestamptz)`,
    [base, quote, at],
  );
  if (!row) throw new HttpError(404, `no source has ${base}/${quote} in force ${at ? `at ${at.toISOString()}` : 'now'}`);
  return {
    base,
    quote,
    rate: row.rate,
    asOf: row.as_of.toISOString(),
    at: at?.toISOString() ?? null,
    sourceCount: row.source_count,
    sources: row.sources,
    spreadPct: row.spread_pct,
    excluded: row.excluded,
  };
}
