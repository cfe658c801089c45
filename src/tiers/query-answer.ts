import type { DuckDBResultReader, Json } from '@duckdb/node-api';
import { DuckDBTypeId } from './duck.js';

export interface QueryColumn {
  name: string;
  /** DuckDB's type name, e.g. DECIMAL(38,24), BIGINT, VARCHAR[]. */
  type: string;
}

export interface QueryAnswer {
  columns: QueryColumn[];
  /** JSON values: exact decimals as text without trailing zeros, 64/128-bit integers as numbers while exact, else text. */
  rows: Json[][];
}

const WIDE_INTEGERS = new Set<DuckDBTypeId>([DuckDBTypeId.BIGINT, DuckDBTypeId.UBIGINT, DuckDBTypeId.HUGEINT, DuckDBTypeId.UHUGEINT]);

/** Decimal text without trailing fractional zeros: 1.500000 → 1.5, 2.000 → 2. */
export const trimDecimal = (text: string): string => (text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text);

export function answerOf(reader: DuckDBResultReader): QueryAnswer {
  const ids = Array.from({ length: reader.columnCount }, (_, i) => reader.columnTypeId(i));
  const columns = reader.columnNames().map((name, i) => ({ name, type: String(reader.columnType(i)) }));
  const rows = reader.getRowsJson().map((row) =>
    row.map((value, i) => {
      if (typeof value !== 'string') return value;
      if (ids[i] === DuckDBTypeId.DECIMAL) return trimDecimal(value);
      if (WIDE_INTEGERS.has(ids[i]!) && Number.isSafeInteger(Number(value))) return Number(value);
      return value;
    }),
  );
  return { columns, rows };
}
