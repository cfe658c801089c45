import type { Db } from './db.js';

/** The last `fxpipe verify` check: its verdict counts and the rows that were not ok (the first 10, by line). */
export interface LastProductionCheck {
  checkId: string;
  label: string | null;
  checkedAt: string;
  rows: number;
  ok: number;
  deviates: number;
  noRate: number;
  notOk: { line: number; base: string; quote: string; rate: string; consensusRate: string | null; deviationPct: string | null; verdict: string }[];
}

const NOT_OK_SHOWN = 10;

export async function lastProductionCheck(db: Db): Promise<LastProductionCheck | null> {
  // A warehouse not yet migrated to this version (status reads, it does not migrate) has no checks.
  const [table] = await db.query<{ present: boolean }>(`select to_regclass('production_checks') is not null as present`);
  if (!table?.present) return null;
  const [check] = await db.query<{ check_id: string; label: string | null; checked_at: Date; rows: number; ok: number; deviates: number; no_rate: number }>(
    `select check_id::text, label, checked_at, count(*)::int as rows,
            count(*) filter (where verdict = 'ok')::int as ok, count(*) filter (where verdict = 'deviates')::int as deviates,
            count(*) filter (where verdict = 'no_rate')::int as no_rate
       from production_checks
      where check_id = (select check_id from production_checks order by check_row_id desc limit 1)
      group by check_id, label, checked_at`,
  );
  if (!check) return null;
  const notOk = await db.query<{ line: number; base: string; quote: string; rate: string; consensus_rate: string | null; deviation_pct: string | null; verdict: string }>(
    `select line, base, quote, rate::text, consensus_rate::text, deviation_pct::text, verdict
       from production_checks where check_id = $1 and verdict <> 'ok' order by line limit $2`,
    [check.check_id, NOT_OK_SHOWN],
  );
  return {
    checkId: check.check_id, label: check.label, checkedAt: check.checked_at.toISOString(), rows: check.rows,
    ok: check.ok, deviates: check.deviates, noRate: check.no_rate,
    notOk: notOk.map((r) => ({ line: r.line, base: r.base, quote: r.quote, rate: r.rate, consensusRate: r.consensus_rate, deviationPct: r.deviation_pct, verdict: r.verdict })),
  };
}
