/**
 * The row an archived month holds, in both engines: every fact_rates_history column, plus the codes the
 * ids stood for. Rates are DECIMAL(38,24) for readers, next to PostgreSQL's exact text (scale included),
 * which a restore loads back; the fingerprint proves the DECIMAL value equals the text for every row.
 */
import { MONTHLY_PARTITION } from './partition-names.js';

/** The key order rows are written and fingerprinted in: fact_rates_history's primary key. */
export const KEY_ORDER = 'base_currency_id, quote_currency_id, source_id, date_key, rate_timestamp';

/** Relations the export may read: the history table or one of its monthly partitions. */
function checkedRelation(relation: string): string {
  if (relation !== 'fact_rates_history' && !MONTHLY_PARTITION.test(relation)) throw new Error(`not a history relation: ${relation}`);
  return relation;
}

/**
 * What the archive's DECIMAL(38,24) columns hold exactly: at most 14 integer digits and 24 decimals. A value
 * beyond either would fail the Parquet export, or be rounded there and fail the verification. scale() settles almost
 * every value at no cost (round() only for one written with more than 24 decimals, trailing zeros perhaps).
 */
const FITS_DECIMAL = (value: string) => `((scale(${value}) <= 24 or ${value} = round(${value}, 24)) and abs(${value}) < 1e14)`;

/** The columns DECIMAL(38,24) types, in their order: the archive's, the hot snapshot's. */
const DECIMAL_COLUMNS = ['rate', 'previous_rate', 'change_pct'] as const;

/**
 * PostgreSQL: the rows of relation as COPY … TO STDOUT (FORMAT csv) writes them (session time zone UTC). For the hot
 * snapshot (hot), a value DECIMAL(38,24) cannot hold exactly is written as null, so that one value never fails every
 * query, and a last column `unfit` names the row's first such value (null when all fit):
 * "rate 120000000000000000000000000000 of USD/CHF from ecb at 2023-02-14T20:30:00.000Z". The archive (not hot) skips a
 * month holding one before it exports it.
 */
export function pgArchiveRowQuery(relation: string, options: { hot?: boolean } = {}): string {
  const hot = options.hot ?? false;
  const text = (column: string) => (hot ? `case when f.${column} then h.${column}::text end` : `h.${column}::text`);
  const firstUnfit = DECIMAL_COLUMNS.map((column) => `when not f.${column} then '${column} ' || h.${column}::text`).join(' ');
  const allFit = DECIMAL_COLUMNS.map((column) => `coalesce(f.${column}, true)`).join(' and ');
  // Described only for a row that has such a value: the text is built for those rows alone.
  const unfit = `, case when not (${allFit}) then (case ${firstUnfit} end) || format(' of %s/%s from %s at %s', b.currency_code,
                    q.currency_code, s.source_name, to_char(h.rate_timestamp at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')) end`;
  const fits = `cross join lateral (select ${DECIMAL_COLUMNS.map((column) => `${FITS_DECIMAL(`h.${column}`)} as ${column}`).join(', ')}) f`;
  return `select h.date_key, h.base_currency_id, b.currency_code, h.quote_currency_id, q.currency_code, h.source_id, s.source_name,
                 h.rate_timestamp, ${DECIMAL_COLUMNS.map(text).join(', ')}, array_to_json(h.flags)::text,
                 h.extraction_id, h.run_id, h.loaded_at, h.change_id${hot ? unfit : ''}
            from ${checkedRelation(relation)} h
            join dim_currency b on b.currency_id = h.base_currency_id
            join dim_currency q on q.currency_id = h.quote_currency_id
            join dim_source s on s.source_id = h.source_id${hot ? `\n           ${fits}` : ''}`;
}

/**
 * PostgreSQL: the relation's first value (key order) of rate, previous_rate or change_pct that DECIMAL(38,24) cannot
 * hold exactly, with its row's codes, and how many such values the relation has; no row when every value fits.
 */
export function pgUnfitValueQuery(relation: string): string {
  return `select count(*) over ()::int as n, v.column_name, v.value::text as value, b.currency_code as base, q.currency_code as quote,
                 s.source_name as source, h.rate_timestamp
            from ${checkedRelation(relation)} h
           cross join lateral (values (1, 'rate', h.rate::numeric), (2, 'previous_rate', h.previous_rate::numeric), (3, 'change_pct', h.change_pct))
                 as v(column_order, column_name, value)
            join dim_currency b on b.currency_id = h.base_currency_id
            join dim_currency q on q.currency_id = h.quote_currency_id
            join dim_source s on s.source_id = h.source_id
           where v.value is not null and not ${FITS_DECIMAL('v.value')}
           order by ${KEY_ORDER.split(', ')
             .map((column) => `h.${column}`)
             .join(', ')}, v.column_order
           limit 1`;
}

/** The CSV written by pgArchiveRowQuery, column by column, for DuckDB's read_csv; hot: with its `unfit` column. */
const csvColumns = (hot: boolean) => `{'date_key': 'INTEGER', 'base_currency_id': 'SMALLINT', 'base_code': 'VARCHAR',
  'quote_currency_id': 'SMALLINT', 'quote_code': 'VARCHAR', 'source_id': 'SMALLINT', 'source_name': 'VARCHAR',
  'rate_timestamp': 'TIMESTAMPTZ', 'rate_text': 'VARCHAR', 'previous_rate_text': 'VARCHAR', 'change_pct_text': 'VARCHAR',
  'flags_json': 'VARCHAR', 'extraction_id': 'UUID', 'run_id': 'UUID', 'loaded_at': 'TIMESTAMPTZ', 'change_id': 'BIGINT'${
    hot ? ", 'unfit': 'VARCHAR'" : ''
  }}`;

/**
 * DuckDB: the typed archive rows of a CSV file written by pgArchiveRowQuery (with the same hot option); csv is the
 * file as SQL, the parameter $1 or (in a view, which takes no parameters) a literal from sqlPath.
 */
export const duckArchiveRows = (csv: string, options: { hot?: boolean } = {}) => `
  select date_key, base_currency_id, base_code, quote_currency_id, quote_code, source_id, source_name, rate_timestamp,
         cast(rate_text as decimal(38, 24)) as rate, rate_text,
         cast(previous_rate_text as decimal(38, 24)) as previous_rate, previous_rate_text,
         cast(change_pct_text as decimal(38, 24)) as change_pct, change_pct_text,
         cast(from_json(flags_json, '["VARCHAR"]') as varchar[]) as flags,
         extraction_id, run_id, loaded_at, change_id${options.hot ? ', unfit' : ''}
    from read_csv(${csv}, header = false, auto_detect = false, delim = ',', quote = '"', escape = '"',
                  columns = ${csvColumns(options.hot ?? false)})`;

/** The columns of fact_rates_history a restore loads, in the order of DUCK_RESTORE_ROWS's CSV. */
export const RESTORE_COLUMNS = [
  'date_key',
  'base_currency_id',
  'quote_currency_id',
  'source_id',
  'rate_timestamp',
  'rate',
  'previous_rate',
  'change_pct',
  'flags',
  'extraction_id',
  'run_id',
  'loaded_at',
  'change_id',
] as const;

/**
 * DuckDB: an archived file's rows (its path parameter $1) as text PostgreSQL's COPY … FROM (FORMAT csv) reads back
 * exactly: the rates' original text, times in UTC, flags as a JSON array.
 */
export const DUCK_RESTORE_ROWS = `
  select date_key, base_currency_id, quote_currency_id, source_id, cast(rate_timestamp as varchar), rate_text,
         previous_rate_text, change_pct_text, cast(to_json(flags) as varchar), extraction_id, run_id,
         cast(loaded_at as varchar), change_id
    from read_parquet($1)
   order by ${KEY_ORDER}`;
