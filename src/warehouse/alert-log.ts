import type { AlertOutcome, AlertPayload } from '../alerts/kinds.js';
import type { Db } from './db.js';

/** Records one alert and what became of its delivery. */
export async function recordAlert(db: Db, payload: AlertPayload, outcome: AlertOutcome, sentAt: Date): Promise<void> {
  await db.query(
    `insert into alert_log (kind, source, run_id, sent_at, delivered, attempts, error, payload) values ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [
      payload.kind,
      payload.source,
      payload.runId,
      sentAt,
      outcome.delivered,
      outcome.attempts,
      outcome.error ?? null,
      JSON.stringify(payload),
    ],
  );
}

/**
 * Alerts delivered while the database failed (their alert_log insert failed with it): delivery never waits for the
 * database, and these are recorded once it answers again (record), or logged as never recorded (drain).
 */
export class UnrecordedAlerts {
  readonly #pending: { payload: AlertPayload; outcome: AlertOutcome; sentAt: Date }[] = [];

  get size(): number {
    return this.#pending.length;
  }

  add(payload: AlertPayload, outcome: AlertOutcome, sentAt: Date): void {
    this.#pending.push({ payload, outcome, sentAt });
  }

  /** Records them on db, oldest first; when the database fails again, throws and keeps the ones not recorded. */
  async record(db: Db): Promise<number> {
    let recorded = 0;
    while (this.#pending.length > 0) {
      const { payload, outcome, sentAt } = this.#pending[0]!;
      await recordAlert(db, payload, outcome, sentAt);
      this.#pending.shift();
      recorded++;
    }
    return recorded;
  }

  /** The alerts still unrecorded, which are forgotten: the caller logs them. */
  drain(): AlertPayload[] {
    return this.#pending.splice(0).map((entry) => entry.payload);
  }
}

export interface AlertLogEntry {
  kind: string;
  source: string | null;
  runId: string | null;
  sentAt: string;
  delivered: boolean;
  attempts: number;
  message: string;
  error: string | null;
}

/** The newest alerts, newest first; none when the database predates alert_log. */
export async function recentAlerts(db: Db, limit: number): Promise<AlertLogEntry[]> {
  const [table] = await db.query<{ present: boolean }>(`select to_regclass('alert_log') is not null as present`);
  if (!table?.present) return [];
  const rows = await db.query<{
    kind: string;
    source: string | null;
    run_id: string | null;
    sent_at: Date;
    delivered: boolean;
    attempts: number;
    message: string;
    error: string | null;
  }>(
    `select kind, source, run_id, sent_at, delivered, attempts, payload ->> 'message' as message, error
       from alert_log order by sent_at desc, alert_id desc limit $1`,
    [limit],
  );
  return rows.map((row) => ({
    kind: row.kind,
    source: row.source,
    runId: row.run_id,
    sentAt: row.sent_at.toISOString(),
    delivered: row.delivered,
    attempts: row.attempts,
    message: row.message,
    error: row.error,
  }));
}
