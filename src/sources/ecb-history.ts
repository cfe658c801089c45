/**
 * The ECB's historical reference rates file, eurofxref-hist.csv (inside eurofxref-hist.zip):
 * `Date,USD,JPY,…,` then one line per business day, newest first, a trailing comma on every line,
 * `N/A` where a currency had no rate that day (before it joined, after it was discontinued).
 * The file is read a year at a time, oldest year first, never whole: one pass finds where each year's
 * lines are (they are contiguous), then each year is read from its byte range.
 */
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { parse } from 'csv-parse';
import { type DayRange, inRange, yearOfRange } from './day-range.js';
import { ecbPublicationTime } from '../calendar/ecb.js';
import { SourceError } from './errors.js';
import { buildRequest } from './request.js';
import { ExactNumber, type Extraction, type RawQuote, type SourceRequest, type SourceSettings } from './types.js';

const NAME = 'ecb';
const BASE = 'EUR';
const NO_VALUE = 'N/A';
const DATE_AT_LINE_START = /^(\d{4})-\d{2}-\d{2},/;
/** Bytes of a line's start kept while scanning: the date and its comma. */
const LINE_HEAD_BYTES = 11;
const UTF8_BOM = /^\uFEFF/;

export const ECB_HISTORY_CSV = 'eurofxref-hist.csv';

/** The archive the ECB publishes: {base}/eurofxref-hist.zip. */
export function ecbHistoryRequest(settings: SourceSettings): SourceRequest {
  return buildRequest({ baseUrl: settings.baseUrl, path: '/eurofxref-hist.zip', accept: 'application/zip' });
}

/** One year of the file within the range asked for: its days, and the byte range [start, end) of its lines. */
export interface YearBlock {
  days: DayRange;
  start: number;
  end: number;
}

export interface EcbHistoryIndex {
  path: string;
  /** The header line as in the file, line ending included. */
  header: Buffer;
  /** Years with at least one line in the range, oldest first. */
  years: YearBlock[];
}

/** One streaming pass over the file: where each year's lines within range are. Holds one line's head at a time. */
export async function indexEcbHistory(path: string, range: DayRange): Promise<EcbHistoryIndex> {
  const formatError = fileError(basename(path));
  let header: Buffer | null = null;
  const blocks = new Map<number, { start: number; end: number }>();
  const finishedYears = new Set<number>();
  let currentYear: number | null = null;
  let lineNumber = 0;
  let head: Buffer[] = [];
  let headBytes = 0;

  const endLine = (start: number, end: number) => {
    lineNumber++;
    const text = Buffer.concat(head).toString('utf8');
    if (header === null) {
      header = Buffer.concat(head);
      checkHeader(text, formatError);
      return;
    }
    if (text.trim() === '') return;
    const match = DATE_AT_LINE_START.exec(text);
    if (!match) throw formatError(`line ${lineNumber} does not start with a date: ${JSON.stringify(text.slice(0, LINE_HEAD_BYTES))}`);
    const year = Number(match[1]);
    if (year !== currentYear) {
      if (finishedYears.has(year)) throw formatError(`line ${lineNumber}: the lines of ${year} are not all together`);
      if (currentYear !== null) finishedYears.add(currentYear);
      currentYear = year;
    }
    if (!inRange(text.slice(0, 10), range)) return;
    const block = blocks.get(year);
    if (block) {
      block.start = Math.min(block.start, start);
      block.end = Math.max(block.end, end);
    } else {
      blocks.set(year, { start, end });
    }
  };

  let offset = 0;
  let lineStart = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    let position = 0;
    while (position < chunk.length) {
      const newline = chunk.indexOf(0x0a, position);
      const end = newline === -1 ? chunk.length : newline + 1;
      // The header is kept whole (it is every chunk's first line); of other lines, only the date.
      const wanted = header === null ? end - position : Math.min(end - position, LINE_HEAD_BYTES - headBytes);
      if (wanted > 0) {
        head.push(Buffer.from(chunk.subarray(position, position + wanted)));
        headBytes += wanted;
      }
      position = end;
      if (newline === -1) break;
      endLine(lineStart, offset + end);
      lineStart = offset + end;
      head = [];
      headBytes = 0;
    }
    offset += chunk.length;
  }
  if (lineStart < offset) endLine(lineStart, offset);
  if (header === null) throw formatError('the file is empty');

  const years = [...blocks].sort(([a], [b]) => a - b).map(([year, bytes]) => ({ days: yearOfRange(year, range), ...bytes }));
  return { path, header, years };
}

/** The year's text as a file of its own: the header, then the year's lines as they are in the file. */
export async function readYearBlock(index: EcbHistoryIndex, block: YearBlock): Promise<Buffer> {
  const parts: Buffer[] = [index.header];
  for await (const part of createReadStream(index.path, { start: block.start, end: block.end - 1 }) as AsyncIterable<Buffer>)
    parts.push(part);
  return Buffer.concat(parts);
}

/**
 * The EUR-based rates of each day within `days` in a year's text (readYearBlock), oldest first, one
 * Extraction per day as-of the ECB's 16:00 Frankfurt publication. `N/A` cells are left out.
 */
export async function parseEcbHistory(text: Buffer, days: DayRange, fileName: string): Promise<Extraction[]> {
  const formatError = fileError(`${fileName}, year ${days.from.slice(0, 4)}`);
  const parser = parse({ bom: true, skip_empty_lines: true });
  parser.end(text);
  let codes: string[] | null = null;
  const byDay = new Map<string, Extraction>();
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      if (codes === null) {
        codes = record;
        continue;
      }
      const [day = '', ...values] = record;
      let asOf: Date;
      try {
        asOf = ecbPublicationTime(day);
      } catch {
        throw formatError(`not a date ${JSON.stringify(day.slice(0, 20))}`);
      }
      if (!inRange(day, days)) continue;
      if (byDay.has(day)) throw formatError(`${day} appears more than once`);
      byDay.set(day, { source: NAME, base: BASE, requestedBase: BASE, asOf, quotes: quotesOf(codes, values) });
    }
  } catch (error) {
    if (error instanceof SourceError) throw error;
    throw formatError((error as Error).message, error);
  }
  return [...byDay].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, extraction]) => extraction);
}

/** The day's values under their header codes; N/A cells and the unnamed column after the trailing comma left out. */
function quotesOf(header: string[], values: string[]): RawQuote[] {
  const quotes: RawQuote[] = [];
  values.forEach((value, i) => {
    const code = header[i + 1];
    if (code && value !== NO_VALUE) quotes.push({ code, value: new ExactNumber(value) });
  });
  return quotes;
}

function checkHeader(line: string, formatError: (message: string) => SourceError): void {
  const cells = line.replace(UTF8_BOM, '').trim().split(',');
  if (cells[0] !== 'Date')
    throw formatError(`not the ECB's historical file: it starts ${JSON.stringify(line.trim().slice(0, 20))}, not "Date,"`);
  if (!cells.includes('USD')) throw formatError('the header has no USD column: nothing to rebase to USD with');
}

/** Errors naming where in the input: the file, and the year when reading one. */
function fileError(where: string): (message: string, cause?: unknown) => SourceError {
  return (message, cause) => new SourceError(NAME, `${where}: ${message}`, 'format', { cause });
}
