import type { AlertKind } from '../alerts/kinds.js';
import type { Db } from './db.js';

/**
 * Conditions that alert once and stay raised until they clear (a stale source). Raising is a claim:
 * of two processes evaluating at once, only the one whose insert wins sends the alert.
 */
export async function raiseCondition(db: Db, kind: AlertKind, source: string, at: Date): Promise<boolean> {
  const rows = await db.query(
    `insert into alert_raised (kind, source, raised_at) values ($1, $2, $3) on conflict (kind, source) do nothing returning 1`,
    [kind, source, at],
  );
  return rows.length === 1;
}

export async function clearCondition(db: Db, kind: AlertKind, source: string): Promise<void> {
  await db.query('delete from alert_raised where kind = $1 and source = $2', [kind, source]);
}
