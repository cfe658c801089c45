import type { SourceName } from '../sources/types.js';
import type { Db } from './db.js';

/** A stored provider response, as reprocess replays it. */
export interface StoredResponse {
  extractionId: string;
  source: SourceName;
  status: number;
  headers: Record<string, string>;
  body: string;
  extractedAt: Date;
  requestUrl: string;
}

export interface ReplayFilter {
  since?: Date;
  source?: SourceName;
}

const PAGE = 200;

/**
 * The successful responses runs stored (scheduled, manual, failover; backfill chunks are not replayable
 * payloads), oldest first, a page at a time so memory does not grow with the history.
 */
export async function* storedResponses(db: Db, filter: ReplayFilter): AsyncGenerator<StoredResponse> {
  let after: { at: Date; id: string } | null = null;
  for (;;) {
    const rows: {
      extraction_id: string;
      source_name: SourceName;
      http_status: number;
      response_headers: Record<string, string>;
      body: string;
      extracted_at: Date;
      request_url: string;
    }[] = await db.query(
      `select extraction_id, source_name, http_status, response_headers, coalesce(raw_json::text, raw_text, '') as body,
              extracted_at, request_url
         from bronze_extraction
        where extraction_method in ('scheduled', 'manual', 'failover')
          and http_status between 200 and 299
          and ($1::timestamptz is null or extracted_at >= $1)
          and ($2::text is null or source_name = $2)
          and ($3::timestamptz is null or (extracted_at, extraction_id) > ($3, $4::uuid))
        order by extracted_at, extraction_id
        limit ${PAGE}`,
      [filter.since ?? null, filter.source ?? null, after?.at ?? null, after?.id ?? null],
    );
    for (const r of rows) {
      yield {
        extractionId: r.extraction_id,
        source: r.source_name,
        status: r.http_status,
        headers: r.response_headers,
        body: r.body,
        extractedAt: r.extracted_at,
        requestUrl: r.request_url,
      };
    }
    if (rows.length < PAGE) return;
    const last = rows[rows.length - 1]!;
    after = { at: last.extracted_at, id: last.extraction_id };
  }
}

/** Forgets the rejects recorded for a stored response, before replaying it records them again. */
export async function clearRejects(db: Db, extractionId: string): Promise<void> {
  await db.query('delete from rejected_rates where extraction_id = $1', [extractionId]);
}
