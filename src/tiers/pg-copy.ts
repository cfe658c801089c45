import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';

/** Streams the rows of a query to a CSV file with COPY … TO STDOUT (no header, empty = NULL); returns the rows copied. */
export async function copyQueryToCsv(client: pg.Client, query: string, file: string): Promise<number> {
  const copy = client.query(copyTo(`copy (${query}) to stdout (format csv)`));
  await pipeline(copy, createWriteStream(file));
  return copy.rowCount;
}

/** Streams a CSV file into a table with COPY … FROM STDIN; returns the rows copied. */
export async function copyCsvToTable(client: pg.Client, table: string, file: string): Promise<number> {
  const copy = client.query(copyFrom(`copy ${table} from stdin (format csv)`));
  await pipeline(createReadStream(file), copy);
  return copy.rowCount;
}
