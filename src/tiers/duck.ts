import { createRequire } from 'node:module';
import type * as DuckDBApi from '@duckdb/node-api';
import type { DuckDBConnection, DuckDBExtractedStatements, DuckDBInstance, DuckDBResultReader, DuckDBValue } from '@duckdb/node-api';

/**
 * The Node API, loaded with require: imported as an ES module instead, Node 20 sends each of its ~120 CommonJS files
 * through the ES module loader, which took ~100 ms longer per process (measured; `fxpipe query`'s whole fixed-cost
 * budget). Every module of fxpipe takes DuckDB's values from here.
 */
const duckdb = createRequire(import.meta.url)('@duckdb/node-api') as typeof DuckDBApi;
export const { StatementType, DuckDBTypeId } = duckdb;
export type StatementType = DuckDBApi.StatementType;
export type DuckDBTypeId = DuckDBApi.DuckDBTypeId;

/** What the Node API prefixes to DuckDB's own message when extracting statements fails. */
const EXTRACT_PREFIX = 'Failed to extract statements: ';

/** An in-memory DuckDB (parquet, json and icu are built in), its session in UTC like the exports from PostgreSQL. */
export class Duck {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
  ) {}

  static async open(): Promise<Duck> {
    const instance = await duckdb.DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    await connection.run(`set TimeZone = 'UTC'`);
    return new Duck(instance, connection);
  }

  /** Runs sql; with params it is prepared (one statement), without them every statement of it runs (views take no parameters). */
  async run(sql: string, params: DuckDBValue[] = []): Promise<void> {
    await this.connection.run(sql, params.length ? params : undefined);
  }

  /** Like run, reading the last statement's whole result. */
  read(sql: string, params: DuckDBValue[] = []): Promise<DuckDBResultReader> {
    return this.connection.runAndReadAll(sql, params.length ? params : undefined);
  }

  /** The rows of one query as objects (BIGINT, DECIMAL, UUID and times as strings). */
  async rows<R>(sql: string, params: DuckDBValue[] = []): Promise<R[]> {
    return (await this.read(sql, params)).getRowObjectsJson() as R[];
  }

  /**
   * The statements of sql, parsed, none of them bound or run (prepare(i) binds one); null when sql holds no
   * statement. A parse error throws DuckDB's own message.
   */
  async statements(sql: string): Promise<DuckDBExtractedStatements | null> {
    try {
      return await this.connection.extractStatements(sql);
    } catch (error) {
      const message = error instanceof Error ? error.message.replace(EXTRACT_PREFIX, '') : String(error);
      // The Node API reports zero statements (only comments or semicolons) with this text and no DuckDB error.
      if (message === 'Error in native callback') return null;
      throw new Error(message, { cause: error });
    }
  }

  /**
   * The statements after which this DuckDB opens no file but `readable` (and its own spill files in spillDir), reaches
   * no network, installs and loads no extension, and no statement can change its configuration back; run them (with
   * what must come before them, in one call) before any SQL from outside is parsed.
   * DuckDB checks every file a statement opens against allowed_paths, also through views. It resolves symbolic
   * links on both sides, so a /dev/fd/<n> path admits the file open as n (and that file by its own path) and nothing else.
   */
  static confinement(readable: readonly string[], spillDir: string): string[] {
    return [
      `set allowed_paths = [${readable.map(sqlPath).join(', ')}]`,
      `set temp_directory = ${sqlPath(spillDir)}`,
      'set enable_external_access = false',
      'set autoinstall_known_extensions = false',
      'set autoload_known_extensions = false',
      'set allow_community_extensions = false',
      'set lock_configuration = true',
    ];
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }
}

/**
 * A file path as a DuckDB string literal, for the places DuckDB takes no parameter: the target of
 * COPY … TO, the body of a view and a SET. Only paths fxpipe made itself (temp and cache files, archive files) go here.
 */
export function sqlPath(file: string): string {
  if (file.includes('\0')) throw new Error(`invalid path ${JSON.stringify(file)}`);
  return `'${file.replaceAll("'", "''")}'`;
}
