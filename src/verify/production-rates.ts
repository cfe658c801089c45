import { parse as parseCsv } from 'csv-parse/sync';
import { DuplicateValues, JsonSyntaxError, parseJsonExact } from '../sources/json.js';
import { ExactNumber } from '../sources/types.js';

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

/**
 * The rates in a production file: CSV with a header naming `base`, `quote`, `rate` and optionally `at` (other columns
 * are ignored), a JSON array of objects with those fields, or JSON lines (one object a line). Throws
 * ProductionRateError naming the first row it cannot read.
 */
export function parseProductionRates(text: string, name: string): ProductionRate[] {
  const start = text.replace(/^\uFEFF/, '').trimStart();
  if (start === '') throw new ProductionRateError(name, 'empty: expected CSV with a header base,quote,rate[,at], a JSON array or JSON lines');
  if (start.startsWith('[')) return fromJsonArray(text, name);
  if (start.startsWith('{')) return fromJsonLines(text, name);
  return fromCsv(text, name);
}

function fromCsv(text: string, name: string): ProductionRate[] {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parseCsv(text, { bom: true, skip_empty_lines: true, skip_records_with_empty_values: true, trim: true, relax_column_count: true, info: true }) as unknown as typeof records;
  } catch (error) {
    const line = (error as { lines?: number }).lines;
    throw new ProductionRateError(line ? `${name} line ${line}` : name, `not CSV: ${(error as Error).message}`);
  }
  const header = records[0]!.record.map((column) => column.toLowerCase());
  const index = (column: string) => header.indexOf(column);
  for (const column of ['base', 'quote', 'rate']) {
    if (index(column) < 0) throw new ProductionRateError(`${name} line ${records[0]!.info.lines}`, `the header has no column ${column} (it needs base, quote, rate and optionally at)`);
  }
  return records.slice(1).map(({ record, info }) => {
    const cell = (column: string) => (index(column) < 0 ? undefined : record[index(column)]);
    return row(info.lines, `${name} line ${info.lines}`, { base: cell('base'), quote: cell('quote'), rate: cell('rate'), at: cell('at') || undefined });
  });
}

function fromJsonArray(text: string, name: string): ProductionRate[] {
  const parsed = json(text, name);
  if (!Array.isArray(parsed)) throw new ProductionRateError(name, 'expected a JSON array of objects');
  return parsed.map((element, i) => fromJsonObject(element, i + 1, `${name} element ${i + 1}`));
}

function fromJsonLines(text: string, name: string): ProductionRate[] {
  const out: ProductionRate[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    out.push(fromJsonObject(json(line, `${name} line ${i + 1}`), i + 1, `${name} line ${i + 1}`));
  });
  return out;
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
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof ExactNumber || value instanceof DuplicateValues) throw new ProductionRateError(where, 'expected an object with base, quote, rate and optionally at');
  const fields = value as Record<string, unknown>;
  for (const [key, field] of Object.entries(fields)) {
    if (field instanceof DuplicateValues) throw new ProductionRateError(where, `${key} is given twice with different values`);
  }
  const text = (field: unknown) => (field instanceof ExactNumber ? field.text : typeof field === 'string' ? field : field === undefined || field === null ? undefined : JSON.stringify(field));
  return row(line, where, { base: text(fields.base), quote: text(fields.quote), rate: text(fields.rate), at: text(fields.at) });
}

/** Its date and time of day exist (Date would read 2025-02-30 as 2025-03-02). */
function calendarTime(text: string): boolean {
  const [year, month, day, hour, minute, second] = [0, 5, 8, 11, 14, 17].map((at) => Number(text.slice(at, at + (at === 0 ? 4 : 2)) || 0));
  const date = new Date(Date.UTC(year!, month! - 1, day!));
  return date.getUTCMonth() === month! - 1 && date.getUTCDate() === day && hour! < 24 && minute! < 60 && second! < 60;
}

function row(line: number, where: string, cells: { base?: string; quote?: string; rate?: string; at?: string }): ProductionRate {
  const code = (field: 'base' | 'quote') => {
    const value = cells[field]?.trim().toUpperCase();
    if (!value) throw new ProductionRateError(where, `no ${field}`);
    if (!CODE.test(value)) throw new ProductionRateError(where, `${field} ${JSON.stringify(cells[field])} is not a three-letter currency code`);
    return value;
  };
  const base = code('base');
  const quote = code('quote');
  const rate = cells.rate?.trim();
  if (!rate) throw new ProductionRateError(where, 'no rate');
  if (!DECIMAL.test(rate) || !/[1-9]/.test(rate.replace(/[eE].*$/, ''))) {
    throw new ProductionRateError(where, `rate ${JSON.stringify(cells.rate)} is not a positive decimal number`);
  }
  let at: Date | null = null;
  const atText = cells.at?.trim();
  if (atText) {
    at = new Date(atText);
    if (!INSTANT.test(atText) || Number.isNaN(at.getTime()) || !calendarTime(atText)) {
      throw new ProductionRateError(where, `at ${JSON.stringify(cells.at)} is not an ISO 8601 time with its offset (e.g. 2025-03-31T16:00:00Z)`);
    }
  }
  return { line, base, quote, rate, at };
}
