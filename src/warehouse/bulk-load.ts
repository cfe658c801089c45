import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { from as copyFrom } from 'pg-copy-streams';
import type { DirectDb } from './direct.js';

/** One fact_rates_history row as a backfill stages it. */
export interface HistoryRow {
  dateKey: number;
  baseId: number;
  quoteId: number;
  sourceId: number;
  /** ISO 8601 instant. */
  rateTimestamp: string;
  /** Exact decimal text. */
  rate: string;
  previousRate: string | null;
  changePct: string | null;
}

/** Where the rows came from, set on every row inserted. */
export interface Provenance {
  extractionId: string | null;
  runId: string | null;
}

export interface BulkLoadOptions extends Provenance {
  /**
   * The caller knows fact_rates_history holds no row of the rows' source at any of their instants (the source has no
   * publication over them): no row can conflict, so they are COPYed straight into it, as psql \copy would.
   */
  nothingStored: boolean;
}

/** The columns of the COPY text format, in order: a line of historyCopyLine loads into fact_rates_history as well. */
export const HISTORY_COPY_COLUMNS = [
  'date_key',
  'base_currency_id',
  'quote_currency_id',
  'source_id',
  'rate_timestamp',
  'rate',
  'previous_rate',
  'change_pct',
] as const;

const STAGE = 'backfill_stage';
const NULL = '\\N';
/** COPY data is sent in pieces of about this many characters rather than a message per row. */
const PIECE_CHARS = 1 << 16;

/** One row in PostgreSQL's COPY text format (tab-separated, \N for null), newline included; fields: more columns' text. */
export function historyCopyLine(row: HistoryRow, fields = ''): string {
  return `${row.dateKey}\t${row.baseId}\t${row.quoteId}\t${row.sourceId}\t${row.rateTimestamp}\t${row.rate}\t${row.previousRate ?? NULL}\t${row.changePct ?? NULL}${fields}\n`;
}

/**
 * Streams rows with COPY into fact_rates_history: straight in when nothing of theirs can be stored already
 * (options.nothingStored), else into a temporary staging table appended to it in one INSERT … SELECT … ON CONFLICT
 * DO NOTHING, so rows already stored add nothing. Runs in (or joins) one transaction: a failure leaves neither rows
 * nor the staging table. Memory stays flat whatever the number of rows.
 */
export async function bulkLoadHistory(
  db: DirectDb,
  rows: Iterable<HistoryRow> | AsyncIterable<HistoryRow>,
  options: BulkLoadOptions,
): Promise<{ staged: number; inserted: number }> {
  if (options.nothingStored) {
    return db.transaction(async (tx) => {
      const copy = tx.client.query(
        copyFrom(`copy fact_rates_history (${HISTORY_COPY_COLUMNS.join(', ')}, extraction_id, run_id) from stdin`),
      );
      const provenance = `\t${options.extractionId ?? NULL}\t${options.runId ?? NULL}`;
      await pipeline(Readable.from(copyPieces(rows, (row) => historyCopyLine(row, provenance))), copy);
      return { staged: copy.rowCount, inserted: copy.rowCount };
    });
  }
  return db.transaction(async (tx) => {
    await tx.query(
      `create temp table ${STAGE} (
         date_key integer, base_currency_id smallint, quote_currency_id smallint, source_id smallint,
         rate_timestamp timestamptz, rate numeric, previous_rate numeric, change_pct numeric
       )`,
    );
    const copy = tx.client.query(copyFrom(`copy ${STAGE} (${HISTORY_COPY_COLUMNS.join(', ')}) from stdin`));
    await pipeline(Readable.from(copyPieces(rows, (row) => historyCopyLine(row))), copy);
    const inserted = await tx.client.query(
      `insert into fact_rates_history (${HISTORY_COPY_COLUMNS.join(', ')}, extraction_id, run_id)
       select ${HISTORY_COPY_COLUMNS.join(', ')}, $1::uuid, $2::uuid from ${STAGE}
       on conflict do nothing`,
      [options.extractionId, options.runId],
    );
    await tx.query(`drop table ${STAGE}`);
    return { staged: copy.rowCount, inserted: inserted.rowCount ?? 0 };
  });
}

async function* copyPieces(
  rows: Iterable<HistoryRow> | AsyncIterable<HistoryRow>,
  line: (row: HistoryRow) => string,
): AsyncGenerator<string> {
  let piece = '';
  for await (const row of rows) {
    piece += line(row);
    if (piece.length >= PIECE_CHARS) {
      yield piece;
      piece = '';
    }
  }
  if (piece) yield piece;
}
