import pg from 'pg';
import { usageError } from '../errors.js';
import { clientSettings, type Target } from './connection.js';

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** The same server as target, another database on it. */
export function databaseTarget(target: Target, database: string): Target {
  if (!IDENTIFIER.test(database)) throw usageError(`invalid database name ${JSON.stringify(database)}: expected lower-case letters, digits and _`);
  const url = new URL(target.url);
  url.pathname = `/${database}`;
  return { ...target, url: url.toString(), label: `${target.label}, database ${database}` };
}

/** Drops (disconnecting its sessions) and creates a database next to target's; returns its target. */
export async function recreateDatabase(target: Target, database: string): Promise<Target> {
  const created = databaseTarget(target, database);
  const client = new pg.Client({ ...clientSettings(target), connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
    await client.query(`drop database if exists ${database} with (force)`);
    await client.query(`create database ${database}`);
  } catch (error) {
    throw usageError(`cannot create the database ${database} on ${target.label}: ${(error as Error).message}`, error);
  } finally {
    await client.end().catch(() => undefined);
  }
  return created;
}
