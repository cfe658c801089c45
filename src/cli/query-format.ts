import type { Json } from '@duckdb/node-api';
import type { QueryAnswer } from '../tiers/query-answer.js';
import { alignedTable } from './table.js';

export const QUERY_FORMATS = ['table', 'csv', 'json'] as const;
export type QueryFormat = (typeof QUERY_FORMATS)[number];

/** A query's answer as text: aligned columns, CSV (RFC 4180, header line), or one JSON array of objects. */
export function formatAnswer(answer: QueryAnswer, format: QueryFormat): string {
  const names = answer.columns.map((c) => c.name);
  if (format === 'json') {
    return `${JSON.stringify(
      answer.rows.map((row) => Object.fromEntries(names.map((name, i) => [name, row[i] ?? null]))),
      null,
      2,
    )}\n`;
  }
  if (format === 'csv') {
    return [names, ...answer.rows.map((row) => row.map(cellText))].map((cells) => cells.map(csvField).join(',')).join('\n') + '\n';
  }
  const numeric = answer.columns.map((c) => /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|U\w*INT|FLOAT|DOUBLE|DECIMAL)/.test(c.type));
  const lines = alignedTable(
    names,
    answer.rows.map((row) => row.map(cellText)),
    numeric.map((n) => (n ? 'right' : 'left')),
    '',
  );
  return `${lines.join('\n')}\n(${answer.rows.length} row${answer.rows.length === 1 ? '' : 's'})\n`;
}

function cellText(value: Json): string {
  if (value === null) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
