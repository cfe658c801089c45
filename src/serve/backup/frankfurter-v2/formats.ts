import { exactJson, jsonNumber } from '../numbers.js';
import type { V2Record } from './records.js';

/**
 * How v2 picks and writes its formats (lineofflight/frankfurter, lib/versions/v2.rb, with Roda's type_routing plugin):
 * a path suffix (`.csv`, `.json`, `.xml`, `.html`) names the type, else the Accept header's first type Roda knows
 * (text/csv, application/json, text/json, application/xml, text/xml, text/html; no q-values weighed) does, and the
 * answer then varies by Accept. CSV when that type is text/csv; otherwise NDJSON when Accept mentions
 * application/x-ndjson; JSON otherwise.
 */
export type Format = 'json' | 'csv' | 'ndjson';

const SUFFIX = /^(.*?)\.(json|xml|html|csv)$/;
const KNOWN_TYPES: Record<string, string> = {
  'text/json': 'json',
  'application/json': 'json',
  'text/xml': 'xml',
  'application/xml': 'xml',
  'text/html': 'html',
  'text/csv': 'csv',
};

/** A path segment without the suffix Roda's type_routing takes off, and that suffix. */
export function splitSuffix(segment: string): { name: string; suffix: string | null } {
  const match = SUFFIX.exec(segment);
  return match ? { name: match[1]!, suffix: match[2]! } : { name: segment, suffix: null };
}

/** The type Roda routes on: the suffix's, else the Accept header's first known type (varyAccept), else html. */
export function requestedType(suffix: string | null, accept: string | undefined): { type: string; varyAccept: boolean } {
  if (suffix !== null) return { type: suffix, varyAccept: false };
  for (const part of (accept ?? '').split(/\s*,\s*/)) {
    const type = KNOWN_TYPES[part.split(/\s*;\s*/, 1)[0]!.trim()];
    if (type) return { type, varyAccept: true };
  }
  return { type: 'html', varyAccept: true };
}

export function rateFormat(suffix: string | null, accept: string | undefined): { format: Format; varyAccept: boolean } {
  const { type, varyAccept } = requestedType(suffix, accept);
  if (type === 'csv') return { format: 'csv', varyAccept };
  if ((accept ?? '').includes('application/x-ndjson')) return { format: 'ndjson', varyAccept: true };
  return { format: 'json', varyAccept };
}

export const CONTENT_TYPES: Record<Format, string> = {
  json: 'application/json; charset=utf-8',
  csv: 'text/csv',
  ndjson: 'application/x-ndjson',
};

/** A record as Oj writes it (mode: :compat): keys in Frankfurter's order, numbers with their digits. */
export function recordJson(record: V2Record): string {
  const { date, base, quote, rate, providers } = record;
  return exactJson({
    date,
    base,
    quote,
    rate: jsonNumber(rate),
    ...(providers ? { providers: providers.map((p) => ({ key: p.key, date: p.date, rate: jsonNumber(p.rate) })) } : {}),
  });
}

/** The CSV header: date,base,quote,rate and, expanded, providers (v2.rb, csv_headers). */
export const csvHeader = (expandProviders: boolean): string =>
  csvLine(['date', 'base', 'quote', 'rate', ...(expandProviders ? ['providers'] : [])]);

/** A record's CSV line; providers as `KEY:RATE` joined by `|` (v2.rb, csv_value). */
export function recordCsv(record: V2Record, expandProviders: boolean): string {
  const values = [record.date, record.base, record.quote, record.rate];
  if (expandProviders) values.push(record.providers?.map((p) => `${p.key}:${p.rate}`).join('|') ?? '');
  return csvLine(values);
}

/** Ruby's CSV.generate_line: a field quoted when it holds a comma, a quote or a line break; lines end with \n. */
function csvLine(values: string[]): string {
  return `${values.map((v) => (/[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v)).join(',')}\n`;
}

/**
 * A whole (not streamed) answer's text: a JSON array, NDJSON lines, or CSV — with no header at all when there is no
 * record (v2.rb, to_csv).
 */
export function wholeText(records: V2Record[], format: Format, expandProviders: boolean): string {
  if (format === 'json') return `[${records.map(recordJson).join(',')}]`;
  if (format === 'ndjson') return records.map((r) => `${recordJson(r)}\n`).join('');
  return records.length === 0 ? '' : csvHeader(expandProviders) + records.map((r) => recordCsv(r, expandProviders)).join('');
}
