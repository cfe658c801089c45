import pg from 'pg';
import { usageError } from '../../errors.js';
import type { Db } from '../../warehouse/db.js';
import { READER_MARKER } from './reader-roles.js';
import { hasSqlState, SqlState } from '../../warehouse/sqlstate.js';

/** What a reader may hold of the server: set by grant-reader, kept in the role's comment, enforced by PostgreSQL and the watchdog. */
export interface ReaderLimits {
  statementTimeoutMs: number;
  idleInTransactionTimeoutMs: number;
  connectionLimit: number;
  /** temp_file_limit, set on the role: a superuser-only setting (SUSET), so the reader cannot lift it. */
  tempFileLimitKb: number;
  /** The private memory one session may hold (with its parallel workers): measured by the embedded server's watchdog. */
  memoryLimitKb: number;
}

export const DEFAULT_READER_LIMITS: ReaderLimits = {
  statementTimeoutMs: 30_000,
  idleInTransactionTimeoutMs: 60_000,
  connectionLimit: 10,
  tempFileLimitKb: 1024 * 1024,
  memoryLimitKb: 512 * 1024,
};

const MAX_TIMEOUT_MS = 86_400_000;
const DURATION = /^(\d{1,8})(ms|s|min|h)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, min: 60_000, h: 3_600_000 };
/** PostgreSQL's memory units (case-sensitive, as in postgresql.conf). */
const SIZE = /^(\d{1,10})(kB|MB|GB|TB)$/;
const UNIT_KB: Record<string, number> = { kB: 1, MB: 1024, GB: 1024 ** 2, TB: 1024 ** 3 };
/** temp_file_limit's largest value (INT_MAX kB); also the memory limit's. */
const MAX_SIZE_KB = 2_147_483_647;

/** A timeout flag's value: a whole number with a unit, ms, s, min or h (30s, 500ms, 2min), from 100ms to 24h. */
export function parseTimeout(value: string, flag: string): number {
  const match = DURATION.exec(value.trim());
  const ms = match ? Number(match[1]) * UNIT_MS[match[2]!]! : NaN;
  if (!(ms >= 100 && ms <= MAX_TIMEOUT_MS)) {
    throw usageError(
      `invalid ${flag} ${JSON.stringify(value)}: expected a duration from 100ms to 24h with its unit, such as 30s, 500ms or 2min`,
    );
  }
  return ms;
}

/** A size flag's value in kB: a whole number with PostgreSQL's unit, kB, MB, GB or TB (512MB, 1GB), from minKb to 2 TB. */
export function parseSize(value: string, flag: string, minKb: number): number {
  const match = SIZE.exec(value.trim());
  const kb = match ? Number(match[1]) * UNIT_KB[match[2]!]! : NaN;
  if (!(kb >= minKb && kb <= MAX_SIZE_KB)) {
    throw usageError(
      `invalid ${flag} ${JSON.stringify(value)}: expected a size from ${formatSize(minKb)} to 2 TB with its unit (kB, MB, GB or TB), such as 512MB or 1GB`,
    );
  }
  return kb;
}

/** A size in kB as people read it: 1 GB, 512 MB, 100 kB. */
export function formatSize(kb: number): string {
  for (const [unit, factor] of [
    ['TB', 1024 ** 3],
    ['GB', 1024 ** 2],
    ['MB', 1024],
  ] as const) {
    if (kb >= factor && kb % factor === 0) return `${kb / factor} ${unit}`;
  }
  return kb >= 1024 ? `${Math.round(kb / 1024)} MB` : `${kb} kB`;
}

/** The comment grant-reader puts on a reader: the marker, then its limits as JSON (a reader cannot change its own comment). */
export function readerComment(limits: ReaderLimits): string {
  return `${READER_MARKER} ${JSON.stringify(limits)}`;
}

const REQUIRED = ['statementTimeoutMs', 'idleInTransactionTimeoutMs', 'connectionLimit'] as const;
/** Limits a reader made by an earlier grant-reader lacks in its comment: the defaults stand in for them. */
const ADDED_LATER = ['tempFileLimitKb', 'memoryLimitKb'] as const;

/** The limits a reader's comment holds; null for a reader made before limits existed (or not a reader's comment). */
export function limitsInComment(comment: string | null): ReaderLimits | null {
  if (!comment?.startsWith(READER_MARKER)) return null;
  try {
    const parsed = JSON.parse(comment.slice(READER_MARKER.length)) as Record<string, unknown>;
    const valid = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) > 0;
    if (!REQUIRED.every((key) => valid(parsed[key]))) return null;
    const limits = { ...DEFAULT_READER_LIMITS };
    for (const key of [...REQUIRED, ...ADDED_LATER]) if (valid(parsed[key])) limits[key] = parsed[key];
    return limits;
  } catch {
    return null;
  }
}

/** The limits role has now (its comment), or null. */
export async function currentLimits(db: Db, role: string): Promise<ReaderLimits | null> {
  const [row] = await db.query<{ comment: string | null }>(
    `select shobj_description(oid, 'pg_authid') as comment from pg_roles where rolname = $1`,
    [role],
  );
  return limitsInComment(row?.comment ?? null);
}

/**
 * Gives role its limits: the session defaults PostgreSQL applies (statement_timeout, idle_in_transaction_session_timeout,
 * which the reader may lift in its own session: the watchdog does not let it), temp_file_limit (superuser-only: the
 * reader cannot lift it), CONNECTION LIMIT (which it cannot change), and the comment the watchdog reads. role must come
 * from parseRoleName; inside the caller's transaction. Returns false when this connection's role may not set
 * temp_file_limit (neither a superuser nor granted SET on it): the reader's temporary files are then unbounded.
 */
export async function applyReaderLimits(tx: Db, role: string, limits: ReaderLimits): Promise<{ tempFileLimitSet: boolean }> {
  const name = pg.escapeIdentifier(role);
  for (const statement of [
    `alter role ${name} connection limit ${Math.trunc(limits.connectionLimit)}`,
    `alter role ${name} set statement_timeout = ${Math.trunc(limits.statementTimeoutMs)}`,
    `alter role ${name} set idle_in_transaction_session_timeout = ${Math.trunc(limits.idleInTransactionTimeoutMs)}`,
    `comment on role ${name} is ${pg.escapeLiteral(readerComment(limits))}`,
  ]) {
    await tx.query(statement);
  }
  await tx.query('savepoint temp_file_limit');
  try {
    await tx.query(`alter role ${name} set temp_file_limit = ${Math.trunc(limits.tempFileLimitKb)}`);
    await tx.query('release savepoint temp_file_limit');
    return { tempFileLimitSet: true };
  } catch (error) {
    // 42501: only a superuser, or a role granted SET on the parameter (PostgreSQL 15+), may set a SUSET parameter on a role.
    if (!hasSqlState(error, SqlState.insufficient_privilege)) throw error;
    await tx.query('rollback to savepoint temp_file_limit');
    return { tempFileLimitSet: false };
  }
}
