import pg from 'pg';
import { usageError } from '../errors.js';
import { clientSettings, type Target } from './target.js';

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** The same server as target, another database on it. */
export function databaseTarget(target: Target, database: string): Target {
  if (!IDENTIFIER.test(database))
    throw usageError(`invalid database name ${JSON.stringify(database)}: expected lower-case letters, digits and _`);
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
    await createClosedDatabase(client, database);
  } catch (error) {
    throw usageError(`cannot create the database ${database} on ${target.label}: ${(error as Error).message}`, error);
  } finally {
    await client.end().catch(() => undefined);
  }
  return created;
}

/**
 * CREATE DATABASE, closed to PUBLIC before anyone can connect: PostgreSQL gives PUBLIC CONNECT and TEMP on every new
 * database (a template's privileges are not copied), so a reader role of another database could otherwise connect to
 * it and fill the disk with temporary tables. It accepts connections once they are revoked; then its owner, superusers
 * and roles granted CONNECT by name connect. name and template must be plain identifiers (checked here).
 */
export async function createClosedDatabase(client: pg.Client, name: string, template?: string): Promise<void> {
  for (const identifier of [name, template ?? name]) {
    if (!IDENTIFIER.test(identifier))
      throw usageError(`invalid database name ${JSON.stringify(identifier)}: expected lower-case letters, digits and _`);
  }
  await client.query(`create database ${name}${template === undefined ? '' : ` template ${template}`} allow_connections false`);
  await client.query('begin');
  try {
    await client.query(`revoke connect, temporary on database ${name} from public`);
    await client.query(`alter database ${name} allow_connections true`);
    await client.query('commit');
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  }
}
