import { createHash } from 'node:crypto';
import type { FetchAttempt } from '../sources/types.js';
import { redactUrl, scrub } from '../util/secrets.js';
import type { Db } from './db.js';

export type ExtractionMethod = 'scheduled' | 'manual' | 'backfill' | 'failover';

const SECRET_HEADER = /^(authorization|x-api-key|api-key|apikey|cookie|set-cookie|proxy-authorization)$/i;

/** Header values with credentials removed, keyed lower-case. */
export function safeHeaders(headers: Record<string, string>, secrets: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    out[key.toLowerCase()] = SECRET_HEADER.test(key) ? '***' : scrub(value, secrets);
  }
  return out;
}

/**
 * Writes one HTTP attempt to bronze_extraction, before anything parses it: the body as jsonb when it is
 * JSON (PostgreSQL keeps numbers as exact numerics), as text otherwise. Returns the extraction_id.
 */
export async function storeAttempt(
  db: Db,
  runId: string,
  method: ExtractionMethod,
  attempt: FetchAttempt,
  extractedAt: Date,
): Promise<string> {
  const { request, response } = attempt;
  const secrets = request.secrets;
  const body = response?.body ?? Buffer.alloc(0);
  const text = scrub(body.toString('utf8'), secrets);
  const isJson = looksLikeJson(text);
  const [row] = await db.query<{ extraction_id: string }>(
    `insert into bronze_extraction (run_id, source_name, extracted_at, extraction_method, http_status, request_url,
                                    request_headers, request_params, response_headers, raw_json, raw_text,
                                    byte_size, content_sha256, duration_ms, error)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12, $13, $14, $15)
     returning extraction_id`,
    [
      runId,
      attempt.source,
      extractedAt,
      method,
      response?.status ?? null,
      redactUrl(scrub(request.redactedUrl, secrets)),
      JSON.stringify(safeHeaders(request.headers, secrets)),
      JSON.stringify(request.params),
      JSON.stringify(safeHeaders(response?.headers ?? {}, secrets)),
      isJson ? text : null,
      isJson ? null : text.replaceAll('\u0000', ''),
      body.length,
      createHash('sha256').update(body).digest('hex'),
      Math.round(attempt.durationMs * 1000) / 1000,
      attempt.error ? scrub(attempt.error, secrets) : null,
    ],
  );
  return row!.extraction_id;
}

/** A backfill chunk's text read from a file (local, or a downloaded archive's) instead of one HTTP response. */
export interface FileExtract {
  source: string;
  /** The file's path, or the URL it was downloaded from. */
  location: string;
  params: Record<string, string>;
  body: Buffer;
  extractedAt: Date;
  durationMs: number;
}

/** Writes a file extract to bronze_extraction as raw_text, before anything parses it. Returns the extraction_id. */
export async function storeFileExtract(db: Db, runId: string, method: ExtractionMethod, extract: FileExtract): Promise<string> {
  const [row] = await db.query<{ extraction_id: string }>(
    `insert into bronze_extraction (run_id, source_name, extracted_at, extraction_method, request_url, request_params,
                                    raw_text, byte_size, content_sha256, duration_ms)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     returning extraction_id`,
    [
      runId,
      extract.source,
      extract.extractedAt,
      method,
      redactUrl(extract.location),
      JSON.stringify(extract.params),
      extract.body.toString('utf8').replaceAll('\u0000', ''),
      extract.body.length,
      createHash('sha256').update(extract.body).digest('hex'),
      Math.round(extract.durationMs * 1000) / 1000,
    ],
  );
  return row!.extraction_id;
}

function looksLikeJson(text: string): boolean {
  const start = text.trimStart()[0];
  if (start !== '{' && start !== '[') return false;
  try {
    JSON.parse(text);
    return !text.includes('\\u0000');
  } catch {
    return false;
  }
}
