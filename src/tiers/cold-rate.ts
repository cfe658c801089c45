import { mkdir } from 'node:fs/promises';
import type { Db } from '../warehouse/db.js';
import { coldFiles } from './cold-files.js';
import { Duck, sqlPath } from './duck.js';
import { manifestEntries } from './manifest.js';

export interface ColdRate {
  rate: string;
  asOf: Date;
  source: string;
}

/**
 * USD→code in force at `at` from the archived months (at or before at's month): what api.usd_rate answers on the hot
 * side — each source's last rate at or before `at`, the best-ranked source first, then the newest. Null if none.
 */
export async function coldUsdRate(db: Db, code: string, at: Date, cacheDir: string): Promise<ColdRate | null> {
  const atMonth = at.toISOString().slice(0, 7);
  const entries = (await manifestEntries(db, 'archived')).filter((e) => e.month <= atMonth);
  if (entries.length === 0) return null;
  const ranks = new Map((await db.query<{ source: string; rank: number }>(
    'select source_name as source, api.source_rank(tier) as rank from dim_source',
  )).map((r) => [r.source, r.rank]));
  await mkdir(cacheDir, { recursive: true });
  const duck = await Duck.open();
  try {
    const files = await coldFiles(duck, entries, cacheDir);
    const rows = await duck.rows<{ source: string; rate: string; as_of: string }>(
      `select source_name as source, arg_max(rate_text, rate_timestamp) as rate, max(rate_timestamp)::varchar as as_of
         from read_parquet([${files.map(sqlPath).join(', ')}])
        where base_code = 'USD' and quote_code = $1 and rate_timestamp <= $2::timestamptz
        group by source_name`,
      [code, at.toISOString()],
    );
    const best = rows
      .map((r) => ({ rate: r.rate, asOf: new Date(r.as_of.replace(' ', 'T').replace(/([+-]\d{2})$/, '$1:00')), source: r.source }))
      .sort((a, b) => (ranks.get(a.source) ?? 99) - (ranks.get(b.source) ?? 99) || b.asOf.getTime() - a.asOf.getTime())[0];
    return best ?? null;
  } finally {
    duck.close();
  }
}
