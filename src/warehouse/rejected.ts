import type { Reject } from '../transform/rejects.js';
import type { Db } from './db.js';

/** Quarantines hard rejects with their reason and the bronze row they came from. */
export async function storeRejects(
  db: Db,
  runId: string,
  source: string,
  extractionId: string | null,
  rejects: Reject[],
  at: Date,
): Promise<void> {
  if (rejects.length === 0) return;
  await db.query(
    `insert into rejected_rates (extraction_id, run_id, source_name, base_code, quote_code, raw_value, reason, detail, rejected_at)
     select $1, $2, $3, r.base, r.quote, r.raw_value, r.reason, r.detail, $4
       from unnest($5::text[], $6::text[], $7::text[], $8::text[], $9::text[]) as r(base, quote, raw_value, reason, detail)`,
    [
      extractionId,
      runId,
      source,
      at,
      rejects.map((r) => r.base.slice(0, 64)),
      rejects.map((r) => r.quote.slice(0, 64)),
      rejects.map((r) => r.rawValue),
      rejects.map((r) => r.reason),
      rejects.map((r) => r.detail),
    ],
  );
}
