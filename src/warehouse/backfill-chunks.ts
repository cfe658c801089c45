import type { Db } from './db.js';

/** What identifies a loaded chunk: the same input under the same threshold is loaded once. */
export interface ChunkKey {
  source: string;
  /** YYYY-MM-DD, inclusive. */
  from: string;
  to: string;
  contentSha256: string;
  changeThresholdPct: number;
}

export interface ChunkRecord extends ChunkKey {
  rowsRead: number;
  rowsLoaded: number;
  rowsRejected: number;
  extractionId: string | null;
  runId: string;
}

export async function isChunkLoaded(db: Db, key: ChunkKey): Promise<boolean> {
  const rows = await db.query(
    `select 1 from backfill_chunks
      where source_name = $1 and chunk_from = $2 and chunk_to = $3 and content_sha256 = $4 and change_threshold_pct = $5`,
    [key.source, key.from, key.to, key.contentSha256, key.changeThresholdPct],
  );
  return rows.length > 0;
}

/** Records a chunk inside the transaction that loaded it: committed together or not at all. */
export async function recordChunk(db: Db, chunk: ChunkRecord): Promise<void> {
  await db.query(
    `insert into backfill_chunks (source_name, chunk_from, chunk_to, content_sha256, change_threshold_pct,
                                  rows_read, rows_loaded, rows_rejected, extraction_id, run_id)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [
      chunk.source,
      chunk.from,
      chunk.to,
      chunk.contentSha256,
      chunk.changeThresholdPct,
      chunk.rowsRead,
      chunk.rowsLoaded,
      chunk.rowsRejected,
      chunk.extractionId,
      chunk.runId,
    ],
  );
}
