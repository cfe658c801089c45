/** The dimensions `fxpipe query` offers next to rates_history: how each is exported from PostgreSQL and typed in DuckDB. */
export interface DimensionExport {
  table: 'currencies' | 'sources' | 'dates';
  /** PostgreSQL query for COPY … TO STDOUT (FORMAT csv). */
  pg: string;
  /** DuckDB column name → type, in the order of pg's columns. */
  columns: Record<string, string>;
}

export const DIMENSIONS: readonly DimensionExport[] = [
  {
    table: 'currencies',
    pg: 'select currency_id, currency_code, currency_name, symbol, minor_units, is_iso::text, is_active::text from dim_currency',
    columns: {
      currency_id: 'SMALLINT',
      code: 'VARCHAR',
      name: 'VARCHAR',
      symbol: 'VARCHAR',
      minor_units: 'SMALLINT',
      is_iso: 'BOOLEAN',
      is_active: 'BOOLEAN',
    },
  },
  {
    table: 'sources',
    pg: 'select source_id, source_name, rank, endpoint, is_active::text from dim_source',
    columns: { source_id: 'SMALLINT', source: 'VARCHAR', rank: 'VARCHAR', endpoint: 'VARCHAR', is_active: 'BOOLEAN' },
  },
  {
    table: 'dates',
    pg: `select date_key, full_date, year, quarter, month, iso_year, iso_week, day_of_month, day_of_week, is_weekend::text,
                 month_name, quarter_name from dim_date`,
    columns: {
      date_key: 'INTEGER',
      date: 'DATE',
      year: 'SMALLINT',
      quarter: 'SMALLINT',
      month: 'SMALLINT',
      iso_year: 'SMALLINT',
      iso_week: 'SMALLINT',
      day_of_month: 'SMALLINT',
      day_of_week: 'SMALLINT',
      is_weekend: 'BOOLEAN',
      month_name: 'VARCHAR',
      quarter_name: 'VARCHAR',
    },
  },
];

/** DuckDB: the typed rows of a dimension's CSV file; csv is the file as SQL, the parameter $1 or a literal from sqlPath. */
export function duckDimensionRows(dimension: DimensionExport, csv = '$1'): string {
  const columns = Object.entries(dimension.columns)
    .map(([name, type]) => `'${name}': '${type}'`)
    .join(', ');
  return `select * from read_csv(${csv}, header = false, auto_detect = false, delim = ',', quote = '"', escape = '"', columns = {${columns}})`;
}

/** Every relation `fxpipe query` offers, and nothing else is readable there. */
export const QUERY_RELATIONS: readonly string[] = ['rates_history', ...DIMENSIONS.map((dimension) => dimension.table)];
