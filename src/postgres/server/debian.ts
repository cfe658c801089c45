import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

/**
 * Debian's PostgreSQL 15 (apt's postgresql-15), beside the embedded server: the clusters of the failover tests and
 * benchmarks (bench/postgres-pair.ts), and the server src/warehouse/schema.sql is dumped from (schema-file.ts).
 * Its programs run as the postgres user (runuser), so only root can use them.
 */
export const DEBIAN_BIN = '/usr/lib/postgresql/15/bin';
export const DEBIAN_MAJOR = 15;
const execFileP = promisify(execFile);

/** Why these programs cannot be run here, or null when they can. */
export function debianUnavailable(bins: string[]): string | null {
  if (process.getuid?.() !== 0) return "needs root: PostgreSQL's programs run as the postgres user (runuser)";
  if (!bins.every((bin) => existsSync(path.join(DEBIAN_BIN, bin)))) return `needs Debian's PostgreSQL ${DEBIAN_MAJOR} (${DEBIAN_BIN})`;
  return null;
}

/** A PostgreSQL program, as the postgres user. */
export async function asPostgres(bin: string, args: string[], env: Record<string, string> = {}): Promise<void> {
  await execFileP('runuser', ['-u', 'postgres', '--', path.join(DEBIAN_BIN, bin), ...args], {
    env: { ...process.env, ...env },
    timeout: 120_000,
  });
}

/** The postgres user's uid (a directory it works in is chowned to it). */
export async function postgresUid(): Promise<number> {
  return Number((await execFileP('id', ['-u', 'postgres'])).stdout.trim());
}
