/** What fxpipe alerts on; each can be switched off with FXPIPE_ALERTS. */
export const ALERT_KINDS = ['run_failed', 'failover', 'stale', 'pair_moved', 'reference_deviation', 'production_deviation'] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

export type AlertSeverity = 'critical' | 'warning' | 'info';

export const SEVERITY: Record<AlertKind, AlertSeverity> = {
  run_failed: 'critical',
  stale: 'critical',
  failover: 'warning',
  reference_deviation: 'warning',
  production_deviation: 'warning',
  pair_moved: 'info',
};

/** One webhook POST body; README "Alerts" documents it field by field. */
export interface AlertPayload {
  kind: AlertKind;
  severity: AlertSeverity;
  /** One human line. */
  message: string;
  runId: string | null;
  occurredAt: string;
  source: string | null;
  details: Record<string, unknown>;
  fxpipe: { version: string };
}

/** What became of one alert: returned to the caller, and in `fxpipe run --json` as `alerts[]`. */
export interface AlertOutcome {
  kind: AlertKind;
  source: string | null;
  delivered: boolean;
  attempts: number;
  error?: string;
}
