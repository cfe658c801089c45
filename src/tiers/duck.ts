import { DuckDBInstance, type DuckDBConnection, type DuckDBResultReader, type DuckDBValue } from '@duckdb/node-api';

/** An in-memory DuckDB (parquet, json and icu are built in), its session in UTC like the exports from PostgreSQL. */
export class Duck {
  private constructor(private readonly instance: DuckDBInstance, private readonly connection: DuckDBConnection) {}

  static async open(): Promise<Duck> {
    const instance = await DuckDBInstance.create(':memory:');
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

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }
}

/**
 * A file path as a DuckDB string literal, for the two places DuckDB takes no parameter: the target of
 * COPY … TO and the body of a view. Only paths fxpipe made itself (temp and cache files, archive files) go here.
 */
export function sqlPath(file: string): string {
  if (file.includes('\0')) throw new Error(`invalid path ${JSON.stringify(file)}`);
  return `'${file.replaceAll("'", "''")}'`;
}
