import type { Db } from '../warehouse/db.js';
import { withArchivedMonths } from './cold-files.js';

export interface ColdRate {
  rate: string;
  asOf: Date;
  source: string;
}

/**
 * USD→code in force at `at` for each code, from the archived months at or before at's month: what api.usd_rate
 * answers on the hot side — each source's last rate at or before `at`, the best-ranked source first, then the
 * newest. Codes without one are missing from the map.
 */
export async function coldUsdRates(db: Db, codes: string[], at: Date, cacheDir: string): Promise<Map<string, ColdRate>> {
  const atMonth = at.toISOString().slice(0, 7);
  const ranks = new Map((await db.query<{ source: string; rank: number }>(
    'select source_name as source, api.source_rank(tier) as rank from dim_source',
  )).map((r) => [r.source, r.rank]));
  const found = await withArchivedMonths(db, (month) => month <= atMonth, cacheDir, async (duck, files) => {
    const rates = new Map<string, ColdRate>();
    for (const code of codes) {
      const rows = await duck.rows<{ source: string; rate: string; as_of: string }>(
        `select source_name as source, arg_max(rate_text, rate_timestamp) as rate, max(rate_timestamp)::varchar as as_of
           from read_parquet(${files})
          where base_code = 'USD' and quote_code = $1 and rate_timestamp <= $2::timestamptz
          group by source_name`,
        [code, at.toISOString()],
      );
      const best = rows
        .map((r) => ({ rate: r.rate, asOf: new Date(r.as_of.replace(' ', 'T').replace(/([+-]\d{2})$/, '$1:00')), source: r.source }))
        .sort((a, b) => (ranks.get(a.source) ?? 99) - (ranks.get(b.source) ?? 99) || b.asOf.getTime() - a.asOf.getTime())[0];
      if (best) rates.set(code, best);
    }
    return rates;
  });
  return found ?? new Map();
}
