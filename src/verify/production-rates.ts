import { parse as parseCsv } from 'csv-parse';
import { Readable } from 'node:stream';
import { DuplicateValues, JsonSyntaxError, parseJsonExact } from '../sources/json.js';
import { ExactNumber } from '../sources/types.js';
import { RateDecimal, storableRate, MAX_DECIMAL_DIGITS, MAX_INTEGER_DIGITS } from '../transform/decimal.js';
import { exceedsDepth, JsonArraySplitter, JsonValueError, MAX_DEPTH, MAX_VALUE_CHARS } from './json-values.js';

/** One rate a production system uses: 1 base = rate quote at `at` (null: now). */
export interface ProductionRate {
  /** Where it is in the input: a CSV or JSON-lines line (a CSV's header is line 1), or a JSON array's element (from 1). */
  line: number;
  base: string;
  quote: string;
  /** The decimal exactly as written. */
  rate: string;
  at: Date | null;
}

/** A row fxpipe cannot read: the whole input is refused, and nothing is stored. */
export class ProductionRateError extends Error {
  constructor(
    readonly where: string,
    readonly problem: string,
  ) {
    super(`${where}: ${problem}`);
    this.name = 'ProductionRateError';
  }
}

const CODE = /^[A-Z]{3}$/;
const DECIMAL = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
// An instant with its offset (or Z): a time without one would be read in this machine's zone.
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})$/i;
/** The earliest instant a row may claim: PostgreSQL has no year 0, and no rate is older than the ECB's 1999. */
const EARLIEST_AT = Date.UTC(1000, 0, 1);
/** The longest CSV record read: a row is well under a hundred characters. */
const MAX_RECORD_CHARS = MAX_VALUE_CHARS;
const EMPTY = 'empty: expected CSV with a header base,quote,rate[,at], a JSON array or JSON lines';

/** Text or bytes, all at once or in chunks as they arrive (a file, a request body). */
export type ProductionText = string | AsyncIterable<string | Uint8Array>;

/**
 * The rates of a production file, row by row as the text arrives (a file of a million rows is never held whole):
 * CSV with a header naming `base`, `quote`, `rate` and optionally `at` (other columns are ignored), a JSON array of
 * objects with those fields, or JSON lines (one object a line); a byte-order mark before any of them is skipped.
 * Throws ProductionRateError naming the first row it cannot read.
 */
export async function* productionRatesIn(input: ProductionText, name: string): AsyncGenerator<ProductionRate> {
  const chunks = decoded(input);
  // The format is told by the first character that is not a byte-order mark or white space.
  const head: string[] = [];
  let first: string | undefined;
  while (first === undefined) {
    const next = await chunks.next();
    if (next.done) throw new ProductionRateError(name, EMPTY);
    head.push(head.length === 0 ? next.value.replace(/^\uFEFF/, '') : next.value);
    first = /\S/.exec(head.at(-1)!)?.[0];
  }
  const text = rejoined(head, chunks);
  if (first === '[') yield* fromJsonArray(text, name);
  else if (first === '{') yield* fromJsonLines(text, name);
  else yield* fromCsv(text, name);
}

/** Every rate of a text at once: for inputs known to be small (tests, a bench's file). */
export async function parseProductionRates(text: string, name: string): Promise<ProductionRate[]> {
  const rates: ProductionRate[] = [];
  for await (const rate of productionRatesIn(text, name)) rates.push(rate);
  if (rates.length === 0) throw new ProductionRateError(name, 'no rates in it');
  return rates;
}

async function* decoded(input: ProductionText): AsyncGenerator<string> {
  if (typeof input === 'string') {
    yield input;
    return;
  }
  // Streaming, so a character split between two chunks is whole; bytes that are not UTF-8 read as U+FFFD, as readFile does.
  const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  for await (const chunk of input) {
    const text = typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    if (text !== '') yield text;
  }
  const rest = decoder.decode();
  if (rest !== '') yield rest;
}

/** The chunks already read, then the rest of the same stream. */
async function* rejoined(head: string[], rest: AsyncGenerator<string>): AsyncGenerator<string> {
  yield head.join('');
  yield* rest;
}

async function* fromCsv(text: AsyncIterable<string>, name: string): AsyncGenerator<ProductionRate> {
  const parser = parseCsv({
    bom: true,
    skip_empty_lines: true,
    skip_records_with_empty_values: true,
    trim: true,
    relax_column_count: true,
    info: true,
    max_record_size: MAX_RECORD_CHARS,
  });
  const records = Readable.from(text).pipe(parser) as AsyncIterable<{ record: string[]; info: { lines: number } }>;
  let header: string[] | null = null;
  let headerLine = 0;
  try {
    for await (const { record, info } of records) {
      if (header === null) {
        header = record.map((column) => column.toLowerCase());
        headerLine = info.lines;
        for (const column of ['base', 'quote', 'rate']) {
          if (!header.includes(column))
            throw new ProductionRateError(
              `${name} line ${headerLine}`,
              `the header has no column ${column} (it needs base, quote, rate and optionally at)`,
            );
        }
        continue;
      }
      const columns = header;
      const cell = (column: string) => (columns.indexOf(column) < 0 ? undefined : record[columns.indexOf(column)]);
      yield row(info.lines, `${name} line ${info.lines}`, {
        base: cell('base'),
        quote: cell('quote'),
        rate: cell('rate'),
        at: cell('at') || undefined,
      });
    }
  } catch (error) {
    if (error instanceof ProductionRateError) throw error;
    const line = (error as { lines?: number }).lines;
    throw new ProductionRateError(line ? `${name} line ${line}` : name, `not CSV: ${(error as Error).message}`);
  } finally {
    parser.destroy();
  }
  if (header === null) throw new ProductionRateError(name, EMPTY);
}

async function* fromJsonArray(text: AsyncIterable<string>, name: string): AsyncGenerator<ProductionRate> {
  const splitter = new JsonArraySplitter();
  let element = 0;
  const where = (index: number) => (index === 0 ? name : `${name} element ${index}`);
  try {
    for await (const chunk of text) {
      for (const value of splitter.push(chunk)) {
        element++;
        yield fromJsonObject(json(value, where(element)), element, where(element));
      }
    }
    splitter.end();
  } catch (error) {
    if (error instanceof JsonValueError) throw new ProductionRateError(where(error.index), error.problem);
    throw error;
  }
}

async function* fromJsonLines(text: AsyncIterable<string>, name: string): AsyncGenerator<ProductionRate> {
  let number = 0;
  let partial = '';
  const one = (line: string): ProductionRate | null => {
    number++;
    if (line.trim() === '') return null;
    const where = `${name} line ${number}`;
    if (line.length > MAX_VALUE_CHARS) throw new ProductionRateError(where, `longer than ${MAX_VALUE_CHARS} characters`);
    if (exceedsDepth(line)) throw new ProductionRateError(where, `nested deeper than ${MAX_DEPTH} levels`);
    return fromJsonObject(json(line.replace(/\r$/, ''), where), number, where);
  };
  for await (const chunk of text) {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    if (partial.length > MAX_VALUE_CHARS)
      throw new ProductionRateError(`${name} line ${number + lines.length + 1}`, `longer than ${MAX_VALUE_CHARS} characters`);
    for (const line of lines) {
      const rate = one(line);
      if (rate) yield rate;
    }
  }
  const rate = one(partial);
  if (rate) yield rate;
}

function json(text: string, where: string): unknown {
  try {
    return parseJsonExact(text);
  } catch (error) {
    if (error instanceof JsonSyntaxError) throw new ProductionRateError(where, `not JSON: ${error.message}`);
    throw error;
  }
}

function fromJsonObject(value: unknown, line: number, where: string): ProductionRate {
  if (
    value === null ||
    typeof value !== 'object' ||
    Array.isArray(value) ||
    value instanceof ExactNumber ||
    value instanceof DuplicateValues
  )
    throw new ProductionRateError(where, 'expected an object with base, quote, rate and optionally at');
  const fields = value as Record<string, unknown>;
  for (const [key, field] of Object.entries(fields)) {
    if (field instanceof DuplicateValues) throw new ProductionRateError(where, `${key} is given twice with different values`);
  }
  const text = (field: unknown) =>
    field instanceof ExactNumber
      ? field.text
      : typeof field === 'string'
        ? field
        : field === undefined || field === null
          ? undefined
          : JSON.stringify(field);
  return row(line, where, { base: text(fields.base), quote: text(fields.quote), rate: text(fields.rate), at: text(fields.at) });
}

/** Its date and time of day exist (Date would read 2025-02-30 as 2025-03-02). */
function calendarTime(text: string): boolean {
  const [year, month, day, hour, minute, second] = [0, 5, 8, 11, 14, 17].map((at) => Number(text.slice(at, at + (at === 0 ? 4 : 2)) || 0));
  const date = new Date(Date.UTC(year!, month! - 1, day));
  return date.getUTCMonth() === month! - 1 && date.getUTCDate() === day && hour! < 24 && minute! < 60 && second! < 60;
}

/** A cell as an error quotes it: at most 40 characters of it. */
const quoted = (text: string | undefined) => JSON.stringify((text ?? '').length > 40 ? `${text!.slice(0, 40)}…` : text);

function row(line: number, where: string, cells: { base?: string; quote?: string; rate?: string; at?: string }): ProductionRate {
  const code = (field: 'base' | 'quote') => {
    const value = cells[field]?.trim().toUpperCase();
    if (!value) throw new ProductionRateError(where, `no ${field}`);
    if (!CODE.test(value)) throw new ProductionRateError(where, `${field} ${quoted(cells[field])} is not a three-letter currency code`);
    return value;
  };
  const base = code('base');
  const quote = code('quote');
  const rate = cells.rate?.trim();
  if (!rate) throw new ProductionRateError(where, 'no rate');
  if (!DECIMAL.test(rate) || !/[1-9]/.test(rate.replace(/[eE].*$/, ''))) {
    throw new ProductionRateError(where, `rate ${quoted(cells.rate)} is not a positive decimal number`);
  }
  // The pipeline's own bound on a rate (transform/decimal.ts): what no provider publishes, no production system uses.
  if (!storableRate(new RateDecimal(rate))) {
    throw new ProductionRateError(
      where,
      `rate ${quoted(rate)} is outside what fxpipe stores (below 1e${MAX_INTEGER_DIGITS}, at most ${MAX_DECIMAL_DIGITS} decimal places)`,
    );
  }
  let at: Date | null = null;
  const atText = cells.at?.trim();
  if (atText) {
    at = new Date(atText);
    if (!INSTANT.test(atText) || Number.isNaN(at.getTime()) || !calendarTime(atText) || at.getTime() < EARLIEST_AT) {
      throw new ProductionRateError(
        where,
        `at ${quoted(cells.at)} is not an ISO 8601 time with its offset (e.g. 2025-03-31T16:00:00Z) from the year 1000 on`,
      );
    }
  }
  return { line, base, quote, rate, at };
}
