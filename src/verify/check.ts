import { randomUUID } from 'node:crypto';
import type { Db } from '../warehouse/db.js';
import type { ProductionRate } from './production-rates.js';

export const VERDICTS = ['ok', 'deviates', 'no_rate'] as const;
export type Verdict = (typeof VERDICTS)[number];

/** A production rate against the consensus in force at its instant, as stored in production_checks. */
export interface CheckedRate {
  checkRowId: string;
  line: number;
  base: string;
  quote: string;
  rate: string;
  at: string;
  consensusRate: string | null;
  deviationPct: string | null;
  verdict: Verdict;
  sourceCount: number | null;
  sources: string[] | null;
  excluded: unknown[] | null;
}

export interface ProductionCheck {
  checkId: string;
  label: string | null;
  checkedAt: string;
  tolerancePct: string;
  counts: Record<Verdict, number>;
  rows: CheckedRate[];
}

export interface CheckOptions {
  /** |deviation| at or under this is `ok` (percent, a decimal as text). */
  tolerancePct: string;
  label: string | null;
  /** The instant of the check: the `at` of a row that gives none. */
  now: Date;
}

/** A stored row as the statement returns it: a CheckedRate with its instant still a Date. */
type StoredRow = Omit<CheckedRate, 'at'> & { at: Date };

/** Each row with the consensus at its instant and its verdict, stored; $1–$5 the rows, $6–$9 the check. */
const CHECK_AND_STORE = `
  with input as (
    select r.line, r.base, r.quote, r.rate, r.at, b.currency_id as base_id, q.currency_id as quote_id
      from unnest($1::integer[], $2::text[], $3::text[], $4::numeric[], $5::timestamptz[]) as r(line, base, quote, rate, at)
      -- A code fxpipe has never seen has no id, and its row no consensus.
      left join dim_currency b on b.currency_code = r.base
      left join dim_currency q on q.currency_code = r.quote
  ),
  known as (
    select row_number() over (order by line) as i, * from input where base_id is not null and quote_id is not null
  ),
  consensus as (
    select k.line, c.rate, c.source_count, c.sources, c.excluded
      from fx_consensus_many((select array_agg(base_id order by i) from known), (select array_agg(quote_id order by i) from known),
                             (select array_agg(at order by i) from known)) c
      join known k on k.i = c.i
  )
  insert into production_checks (check_id, label, checked_at, line, base, quote, rate, at, consensus_rate, deviation_pct,
                                 tolerance_pct, verdict, source_count, sources, excluded)
  select $6, $7, $8, r.line, r.base, r.quote, r.rate, r.at, c.rate, round((r.rate - c.rate) * 100 / c.rate, 6), $9,
         case when c.rate is null then 'no_rate'
              when abs((r.rate - c.rate) * 100 / c.rate) <= $9 then 'ok'
              else 'deviates' end,
         c.source_count, c.sources, c.excluded
    from input r left join consensus c on c.line = r.line
   order by r.line
  returning check_row_id::text as "checkRowId", line, base, quote, rate::text as rate, at, consensus_rate::text as "consensusRate",
            deviation_pct::text as "deviationPct", verdict, source_count as "sourceCount", sources, excluded`;

/**
 * Compares each production rate with the consensus at its instant (fx_consensus_many: api.consensus_rate's, for all
 * rows at once) and stores every row with its verdict in production_checks, in one transaction: all of the check or
 * none of it. A pair with a code fxpipe has never seen is `no_rate`, as is one no source has in force then.
 */
export async function checkProductionRates(db: Db, rates: readonly ProductionRate[], options: CheckOptions): Promise<ProductionCheck> {
  const checkId = randomUUID();
  // One check at a time: the rows' check_row_id are committed in the order they are given, so a reader polling
  // for ids above the last one it saw misses none. Readers are not blocked.
  const stored = await db.transaction(async (tx) => {
    await tx.query('lock table production_checks in exclusive mode');
    return tx.query<StoredRow>(CHECK_AND_STORE, [
      rates.map((r) => r.line),
      rates.map((r) => r.base),
      rates.map((r) => r.quote),
      rates.map((r) => r.rate),
      rates.map((r) => r.at ?? options.now),
      checkId,
      options.label,
      options.now,
      options.tolerancePct,
    ]);
  });
  const rows = stored.sort((a, b) => a.line - b.line).map((row): CheckedRate => ({ ...row, at: row.at.toISOString() }));
  const counts: Record<Verdict, number> = { ok: 0, deviates: 0, no_rate: 0 };
  for (const row of rows) counts[row.verdict]++;
  return { checkId, label: options.label, checkedAt: options.now.toISOString(), tolerancePct: options.tolerancePct, counts, rows };
}
