import type { DuckDBPreparedStatement } from '@duckdb/node-api';
import { FxpipeError, oneLine, usageError } from '../errors.js';
import { StatementType, type Duck } from './duck.js';
import { QUERY_RELATIONS } from './query-dimensions.js';

/**
 * The table functions a query may call: generators and catalog views. Everything else is refused, above all
 * what reads files (read_csv, read_text, glob: confined to the archive files anyway), runs SQL text the checks
 * below never see (query, query_table, json_execute_serialized_sql), or changes the session although the
 * configuration is locked (enable_logging, enable_profiling, checkpoint, …: DuckDB 1.5 runs these as SELECTs).
 */
const TABLE_FUNCTIONS = new Set([
  'range',
  'generate_series',
  'unnest',
  'repeat',
  'repeat_row',
  'json_each',
  'json_tree',
  'summary',
  'pragma_table_info',
  'pragma_show',
  'pg_timezone_names',
  'duckdb_columns',
  'duckdb_constraints',
  'duckdb_functions',
  'duckdb_keywords',
  'duckdb_schemas',
  'duckdb_tables',
  'duckdb_types',
  'duckdb_views',
  'duckdb_settings',
]);

const WRITES = new Set([
  StatementType.INSERT,
  StatementType.UPDATE,
  StatementType.DELETE,
  StatementType.MERGE_INTO,
  StatementType.CREATE,
  StatementType.CREATE_FUNC,
  StatementType.DROP,
  StatementType.ALTER,
  StatementType.COPY,
  StatementType.COPY_DATABASE,
  StatementType.EXPORT,
  StatementType.VACUUM,
  StatementType.ANALYZE,
]);

/** Why a statement of this type is refused, in a few words. */
function typeReason(type: StatementType): string {
  const name = StatementType[type] ?? `statement type ${type}`;
  if (WRITES.has(type)) return `${name} is a write`;
  switch (type) {
    case StatementType.SET:
    case StatementType.VARIABLE_SET:
    case StatementType.PRAGMA:
      return `${name} changes the configuration`;
    case StatementType.LOAD:
    case StatementType.EXTENSION:
    case StatementType.UPDATE_EXTENSIONS:
      return `${name} (INSTALL, LOAD) touches extensions`;
    case StatementType.ATTACH:
    case StatementType.DETACH:
      return `${name} opens another database`;
    case StatementType.CALL:
      return 'CALL runs a procedure (SELECT * FROM a function reads one)';
    case StatementType.EXPLAIN:
      return 'EXPLAIN is not offered (EXPLAIN ANALYZE runs the statement it explains)';
    default:
      return `${name} is not a query`;
  }
}

const PREFIX = `query refused: only single SELECT statements over ${QUERY_RELATIONS.join(', ')} are allowed`;

/** A usage error saying why sql is refused. */
const refused = (reason: string, cause?: unknown) => usageError(`${PREFIX}: ${reason}`, cause);

/** DuckDB refused a file, a directory or an extension under the confinement (Duck.confine). */
const isConfinementError = (error: unknown) => error instanceof Error && error.message.startsWith('Permission Error:');

/** An error DuckDB raised over sql: a refusal when the confinement stopped it, else bad SQL; exit 2 either way. */
export function duckQueryError(error: unknown) {
  return isConfinementError(error) ? refused(oneLine(error), error) : usageError(`query failed: ${oneLine(error)}`, error);
}

/**
 * sql prepared for running, once it is one statement that DuckDB binds as a SELECT, parses as a plain SELECT
 * (not a PRAGMA turned into one) and calls only the table functions above. duck must be confined already: the
 * statement is parsed and bound against the confined catalog, and exactly the statement checked is returned.
 */
export async function guardedSelect(duck: Duck, sql: string): Promise<DuckDBPreparedStatement> {
  let statement: DuckDBPreparedStatement;
  try {
    const statements = await duck.statements(sql);
    if (statements === null) throw usageError('empty query: expected SQL such as "select count(*) from rates_history"');
    if (statements.count > 1) throw refused(`found ${statements.count} statements; run them one at a time`);
    statement = await statements.prepare(0);
  } catch (error) {
    throw error instanceof FxpipeError ? error : duckQueryError(error);
  }
  if (statement.statementType !== StatementType.SELECT) throw refused(typeReason(statement.statementType));

  // DuckDB's own parser, as JSON: it serialises plain SELECTs only, and names every table function called.
  const [serialised] = await duck.rows<{ tree: string }>('select json_serialize_sql($1::varchar) as tree', [sql]);
  const tree = JSON.parse(serialised!.tree) as { error: boolean };
  if (tree.error) throw refused('not a plain SELECT (a PRAGMA, or a statement DuckDB rewrites into one)');
  const forbidden = tableFunctions(tree).filter((name) => !TABLE_FUNCTIONS.has(name));
  if (forbidden.length)
    throw refused(
      `table function ${[...new Set(forbidden)].join(', ')} is not offered (only ${[...TABLE_FUNCTIONS].slice(0, 4).join(', ')} and the catalog views)`,
    );
  return statement;
}

/** The names of every table function the serialised statement calls, at any depth (subqueries, CTEs, joins). */
function tableFunctions(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(tableFunctions);
  if (node === null || typeof node !== 'object') return [];
  const record = node as Record<string, unknown>;
  const own =
    record.type === 'TABLE_FUNCTION'
      ? [String((record.function as { function_name?: unknown } | undefined)?.function_name).toLowerCase()]
      : [];
  return [...own, ...Object.values(record).flatMap(tableFunctions)];
}
