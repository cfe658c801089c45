import pg from 'pg';
import { usageError } from '../../errors.js';
import type { Db } from '../db.js';
import { READER_MARKER } from './reader-roles.js';

/** What a reader may hold of the server: set by grant-reader, kept in the role's comment, enforced by the watchdog. */
export interface ReaderLimits {
  statementTimeoutMs: number;
  idleInTransactionTimeoutMs: number;
  connectionLimit: number;
}

export const DEFAULT_READER_LIMITS: ReaderLimits = { statementTimeoutMs: 30_000, idleInTransactionTimeoutMs: 60_000, connectionLimit: 10 };

const MAX_TIMEOUT_MS = 86_400_000;
const DURATION = /^(\d{1,8})(ms|s|min|h)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, min: 60_000, h: 3_600_000 };

/** A timeout flag's value: a whole number with a unit, ms, s, min or h (30s, 500ms, 2min), from 100ms to 24h. */
export function parseTimeout(value: string, flag: string): number {
  const match = DURATION.exec(value.trim());
  const ms = match ? Number(match[1]) * UNIT_MS[match[2]!]! : NaN;
  if (!(ms >= 100 && ms <= MAX_TIMEOUT_MS)) {
    throw usageError(`invalid ${flag} ${JSON.stringify(value)}: expected a duration from 100ms to 24h with its unit, such as 30s, 500ms or 2min`);
  }
  return ms;
}

/** The comment grant-reader puts on a reader: the marker, then its limits as JSON (a reader cannot change its own comment). */
export function readerComment(limits: ReaderLimits): string {
  return `${READER_MARKER} ${JSON.stringify(limits)}`;
}

/** The limits a reader's comment holds; null for a reader made before limits existed (or not a reader's comment). */
export function limitsInComment(comment: string | null): ReaderLimits | null {
  if (!comment?.startsWith(READER_MARKER)) return null;
  try {
    const parsed = JSON.parse(comment.slice(READER_MARKER.length)) as Partial<ReaderLimits>;
    const { statementTimeoutMs, idleInTransactionTimeoutMs, connectionLimit } = parsed;
    return [statementTimeoutMs, idleInTransactionTimeoutMs, connectionLimit].every((n) => Number.isSafeInteger(n) && n! > 0)
      ? { statementTimeoutMs: statementTimeoutMs!, idleInTransactionTimeoutMs: idleInTransactionTimeoutMs!, connectionLimit: connectionLimit! }
      : null;
  } catch {
    return null;
  }
}

/** The limits role has now (its comment), or null. */
export async function currentLimits(db: Db, role: string): Promise<ReaderLimits | null> {
  const [row] = await db.query<{ comment: string | null }>(`select shobj_description(oid, 'pg_authid') as comment from pg_roles where rolname = $1`, [role]);
  return limitsInComment(row?.comment ?? null);
}

/**
 * Gives role its limits: the session defaults PostgreSQL applies (statement_timeout, idle_in_transaction_session_timeout,
 * which the reader may lift in its own session: the watchdog does not let it), CONNECTION LIMIT (which it cannot change),
 * and the comment the watchdog reads. role must come from parseRoleName; inside the caller's transaction.
 */
export async function applyReaderLimits(tx: Db, role: string, limits: ReaderLimits): Promise<void> {
  const name = pg.escapeIdentifier(role);
  for (const statement of [
    `alter role ${name} connection limit ${Math.trunc(limits.connectionLimit)}`,
    `alter role ${name} set statement_timeout = ${Math.trunc(limits.statementTimeoutMs)}`,
    `alter role ${name} set idle_in_transaction_session_timeout = ${Math.trunc(limits.idleInTransactionTimeoutMs)}`,
    `comment on role ${name} is ${pg.escapeLiteral(readerComment(limits))}`,
  ]) {
    await tx.query(statement);
  }
}
