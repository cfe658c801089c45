import { stringify } from 'csv-stringify/sync';
import type { Context } from 'hono';
import { accepts } from 'hono/accepts';
import type { Logger } from '../log.js';
import type { Db } from '../warehouse/db.js';
import { historyPoints, type HistoryPlan, type HistoryPoint } from './data/history.js';
import { dayCacheControl } from './http-cache.js';
import { etagOf } from './last-good/latest-answers.js';
import * as p from './params.js';

type Query = Record<string, string | undefined>;

/*
 * /api/v1/history in CSV and NDJSON besides JSON (docs/serve.md): chosen by `format=`, else by `Accept`; streamed, the
 * points written as each page of days is read.
 */

export const HISTORY_FORMATS = ['json', 'csv', 'ndjson'] as const;
export type HistoryFormat = (typeof HISTORY_FORMATS)[number];

const MEDIA_TYPES: Record<HistoryFormat, string> = {
  json: 'application/json',
  // RFC 4180's registration, with RFC 7111's header parameter: the first line names the columns.
  csv: 'text/csv; charset=utf-8; header=present',
  ndjson: 'application/x-ndjson',
};

/** The CSV columns: the JSON points' fields, in their order. */
const COLUMNS: readonly (keyof HistoryPoint)[] = ['date', 'open', 'high', 'low', 'close', 'observations', 'carried', 'tier'];

/** Bytes gathered before a chunk is written: one write per line would be thousands of tiny chunks. */
const CHUNK_BYTES = 16 * 1024;

/** `format=` when given (an unknown one is a 400 naming it), else the best of Accept's types fxpipe has, else JSON. */
export function historyFormat(c: Context, query: Query): HistoryFormat {
  if (query.format !== undefined) return p.oneOf(query, 'format', HISTORY_FORMATS, 'json');
  const supports = HISTORY_FORMATS.map((f) => MEDIA_TYPES[f].split(';')[0]!);
  const chosen = accepts(c, { header: 'Accept', supports, default: MEDIA_TYPES.json });
  return HISTORY_FORMATS.find((f) => MEDIA_TYPES[f].startsWith(chosen)) ?? 'json';
}

/**
 * The plan's points as CSV or NDJSON, streamed: a page of days read, its lines written. Cache-Control as the JSON
 * answer's (dayCacheControl); the ETag, which cannot be the digest of a body not yet read, is the request with the
 * warehouse's data version (LatestAnswers.dataVersion: the history's version, moved by every write of it, and the
 * hour), as Frankfurter v2's streamed ranges have it: it changes whenever the rows can have, at no extra read. A
 * failure once the first byte is out cuts the body off (no clean end a client could take for the whole answer) and is
 * logged.
 */
export function streamedHistory(
  c: Context,
  db: Db,
  plan: HistoryPlan,
  format: 'csv' | 'ndjson',
  dataVersion: string,
  log: Logger,
): Response {
  const { interval, sources, archived, ...range } = plan;
  const etag = etagOf(JSON.stringify([format, range, interval, sources, [...archived].sort(), dataVersion]));
  const lines = format === 'csv' ? csvLines(historyPoints(db, plan)) : ndjsonLines(historyPoints(db, plan));
  const requestId = c.get('requestId') as string | undefined;
  return c.body(
    streamOf(lines, (error) => log.error({ requestId, err: error }, 'history stream failed after its first byte')),
    200,
    {
      'Content-Type': MEDIA_TYPES[format],
      'Cache-Control': dayCacheControl(plan.to),
      ETag: etag,
      Vary: 'Accept',
    },
  );
}

async function* csvLines(points: AsyncIterable<HistoryPoint>): AsyncGenerator<string> {
  const line = (values: (string | null)[]) => stringify([values], { record_delimiter: 'windows' });
  yield line([...COLUMNS]);
  // Every value as the JSON answer's text (booleans as true/false, a null as an empty field), quoted where RFC 4180 says.
  for await (const point of points) yield line(COLUMNS.map((column) => (point[column] === null ? null : String(point[column]))));
}

async function* ndjsonLines(points: AsyncIterable<HistoryPoint>): AsyncGenerator<string> {
  for await (const point of points) yield `${JSON.stringify(point)}\n`;
}

/** A body read from lines as the client takes it; an error errors the body, a client gone ends the lines. */
function streamOf(lines: AsyncGenerator<string>, onError: (error: unknown) => void): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    async pull(controller) {
      let chunk = '';
      try {
        for (let next = await lines.next(); ; next = await lines.next()) {
          if (next.done) {
            if (chunk) controller.enqueue(encoder.encode(chunk));
            controller.close();
            return;
          }
          chunk += next.value;
          if (chunk.length >= CHUNK_BYTES) break;
        }
      } catch (error) {
        onError(error);
        throw error;
      }
      controller.enqueue(encoder.encode(chunk));
    },
    async cancel() {
      await lines.return(undefined);
    },
  });
}
