import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { expect } from 'vitest';
import { scratchDir } from '../helpers/database.js';

/** A role name no other test run uses (roles are cluster-wide). */
export const uniqueRole = (prefix = 'fxr') => `${prefix}_${randomBytes(5).toString('hex')}`;

/** A file whose first line is password, as --password-file reads it. */
export function passwordFile(password: string): string {
  const file = path.join(scratchDir('fxpipe-pw-'), 'password');
  writeFileSync(file, `${password}\n`, { mode: 0o600 });
  return file;
}

/** url with another user and password. */
export function urlAs(url: string, user: string, password: string): string {
  const parsed = new URL(url);
  parsed.username = user;
  parsed.password = password;
  return parsed.toString();
}

export async function connect(config: string | pg.ClientConfig): Promise<pg.Client> {
  const client = new pg.Client(
    typeof config === 'string'
      ? { connectionString: config, connectionTimeoutMillis: 10_000 }
      : { connectionTimeoutMillis: 10_000, ...config },
  );
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** The SQLSTATE a statement fails with; fails the test when it succeeds. */
export async function sqlState(client: pg.Client, text: string, params: unknown[] = []): Promise<string> {
  try {
    await client.query(text, params);
  } catch (error) {
    return (error as { code?: string }).code ?? 'no code';
  }
  expect.fail(`succeeded, expected an error: ${text}`);
}

/** Drops roles a test made (after the databases they were granted in are gone or revoked). */
export async function dropRoles(adminUrl: string, roles: string[]): Promise<void> {
  const admin = await connect(adminUrl);
  try {
    for (const role of roles) await admin.query(`drop role if exists ${pg.escapeIdentifier(role)}`);
  } finally {
    await admin.end();
  }
}
