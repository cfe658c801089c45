import type { Db } from './db.js';

/** One stored `fxpipe verify` check: its verdict counts and the rows that were not ok (the first 10, by line). */
export interface ProductionCheckSummary {
  checkId: string;
  label: string | null;
  checkedAt: string;
  tolerancePct: string;
  rows: number;
  ok: number;
  deviates: number;
  noRate: number;
  notOk: {
    line: number;
    base: string;
    quote: string;
    rate: string;
    consensusRate: string | null;
    deviationPct: string | null;
    verdict: string;
  }[];
}

const NOT_OK_SHOWN = 10;

/** The last `limit` checks, newest first; none when the warehouse predates production_checks (status does not migrate). */
export async function recentProductionChecks(db: Db, limit: number): Promise<ProductionCheckSummary[]> {
  const [table] = await db.query<{ present: boolean }>(`select to_regclass('production_checks') is not null as present`);
  if (!table?.present) return [];
  const checks = await db.query<{
    check_id: string;
    label: string | null;
    checked_at: Date;
    tolerance_pct: string;
    rows: number;
    ok: number;
    deviates: number;
    no_rate: number;
  }>(
    `with recursive walk (n, check_id, first_row) as (
       -- From the newest check back: a check's rows are contiguous in check_row_id (one check is stored at a time),
       -- so the check before it owns the row just before its first. A few index steps, however many rows are stored.
       select 1, c.check_id, (select min(x.check_row_id) from production_checks x where x.check_id = c.check_id)
         from (select check_id from production_checks order by check_row_id desc limit 1) c
       union all
       select w.n + 1, c.check_id, (select min(x.check_row_id) from production_checks x where x.check_id = c.check_id)
         from walk w
        cross join lateral (select p.check_id from production_checks p where p.check_row_id < w.first_row
                             order by p.check_row_id desc limit 1) c
        where w.n < $1
     )
     select w.check_id::text, min(c.label) as label, min(c.checked_at) as checked_at, min(c.tolerance_pct)::text as tolerance_pct,
            count(*)::int as rows, count(*) filter (where c.verdict = 'ok')::int as ok,
            count(*) filter (where c.verdict = 'deviates')::int as deviates, count(*) filter (where c.verdict = 'no_rate')::int as no_rate
       from walk w join production_checks c using (check_id)
      group by w.check_id, w.n
      order by w.n`,
    [limit],
  );
  if (checks.length === 0) return [];
  const notOk = await db.query<{
    check_id: string;
    line: number;
    base: string;
    quote: string;
    rate: string;
    consensus_rate: string | null;
    deviation_pct: string | null;
    verdict: string;
  }>(
    `select check_id::text, line, base, quote, rate::text, consensus_rate::text, deviation_pct::text, verdict
       from (select *, row_number() over (partition by check_id order by line) as n
               from production_checks where check_id = any ($1::uuid[]) and verdict <> 'ok') x
      where n <= $2 order by check_id, line`,
    [checks.map((c) => c.check_id), NOT_OK_SHOWN],
  );
  return checks.map((check) => ({
    checkId: check.check_id,
    label: check.label,
    checkedAt: check.checked_at.toISOString(),
    tolerancePct: check.tolerance_pct,
    rows: check.rows,
    ok: check.ok,
    deviates: check.deviates,
    noRate: check.no_rate,
    notOk: notOk
      .filter((r) => r.check_id === check.check_id)
      .map((r) => ({
        line: r.line,
        base: r.base,
        quote: r.quote,
        rate: r.rate,
        consensusRate: r.consensus_rate,
        deviationPct: r.deviation_pct,
        verdict: r.verdict,
      })),
  }));
}

/** The last check, for `fxpipe status`; null before the first. */
export async function lastProductionCheck(db: Db): Promise<ProductionCheckSummary | null> {
  return (await recentProductionChecks(db, 1))[0] ?? null;
}
