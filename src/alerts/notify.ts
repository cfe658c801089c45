import type { Config } from '../config.js';
import { oneLine } from '../errors.js';
import type { Logger } from '../log.js';
import type { RunResult } from '../jobs/pipeline.js';
import type { ProductionCheck } from '../verify/check.js';
import { recordAlert, type UnrecordedAlerts } from '../warehouse/alert-log.js';
import type { Db } from '../warehouse/db.js';
import type { FailedRun } from '../warehouse/runs.js';
import type { AlertOutcome, AlertPayload } from './kinds.js';
import { productionDeviationAlert } from './production-alerts.js';
import { runAlerts, runFailedAlert } from './run-alerts.js';
import { lowerStale, staleAlerts } from './stale-alerts.js';
import { postJson } from './webhook.js';

export type AlertSettings = Pick<Config, 'webhookUrl' | 'alerts' | 'watchPairs' | 'alertMovePct' | 'webhookTimeoutMs' | 'sources'>;

export interface NotifyOptions {
  /** The clock staleness is judged on (real time by default; a test's or the demo's simulated one). */
  now?: Date;
  /** Where an alert goes whose alert_log row the database failed to write, to be recorded once it answers again. */
  unrecorded?: UnrecordedAlerts;
}

/**
 * Evaluates the alerts of a finished run and POSTs each to the webhook, all at once. Call it after the
 * run's transaction committed: it never throws, logs failures as warnings, and returns within one
 * delivery budget (deliveryBudgetMs of the webhook timeout) plus a few queries. A dry run alerts nothing.
 * db null: the database cannot be reached; the run's own alerts (run_failed) are delivered all the same, the stale
 * check (which reads it) is left for later, and their alert_log rows go to options.unrecorded.
 */
export async function notifyAfterRun(
  db: Db | null,
  config: AlertSettings,
  result: RunResult,
  parentLog: Logger,
  options: NotifyOptions = {},
): Promise<AlertOutcome[]> {
  const log = parentLog.child({ runId: result.runId });
  const url = config.webhookUrl;
  if (!url || config.alerts.length === 0 || result.dryRun) return [];
  const alerts = () => runAlerts(result, { enabled: config.alerts, watchPairs: config.watchPairs, movePct: config.alertMovePct });
  return deliverWithStale(db, { ...config, webhookUrl: url }, result, alerts, log, options);
}

/**
 * A run known only by its failed row (a slot `fxpipe schedule` missed, a run the database failed: src/jobs/missed-slot.ts):
 * what notifyAfterRun sends for failedRunResult(run), without making one: run_failed (sources[] empty: what they did went
 * with the run's transaction) and the stale alerts when db answers. It never throws either.
 */
export async function notifyFailedRun(
  db: Db | null,
  config: AlertSettings,
  run: Pick<FailedRun, 'runId' | 'kind' | 'finishedAt' | 'error'>,
  parentLog: Logger,
  options: NotifyOptions = {},
): Promise<AlertOutcome[]> {
  const log = parentLog.child({ runId: run.runId });
  const url = config.webhookUrl;
  if (!url || config.alerts.length === 0) return [];
  const facts = { runId: run.runId, kind: run.kind, finishedAt: run.finishedAt.toISOString(), error: run.error, sources: [] };
  const alerts = () => (config.alerts.includes('run_failed') ? [runFailedAlert(facts)] : []);
  return deliverWithStale(db, { ...config, webhookUrl: url }, facts, alerts, log, options);
}

/** The run's own alerts and, when db answers, the stale ones, each POSTed and recorded; never throws. */
async function deliverWithStale(
  db: Db | null,
  config: AlertSettings & { webhookUrl: string },
  run: Pick<RunResult, 'runId' | 'sources'>,
  runOwn: () => AlertPayload[],
  log: Logger,
  options: NotifyOptions,
): Promise<AlertOutcome[]> {
  try {
    const alerts = runOwn();
    if (db && config.alerts.includes('stale')) {
      alerts.push(...(await staleAlertsOrNone(db, config, run, options.now ?? new Date(), log)));
    }
    const { webhookUrl, webhookTimeoutMs } = config;
    return await Promise.all(alerts.map((alert) => deliver(db, webhookUrl, webhookTimeoutMs, alert, log, options.unrecorded)));
  } catch (error) {
    log.warn({ err: oneLine(error) }, 'alerts failed');
    return [];
  }
}

/** production_deviation for a check with rows not ok, POSTed to the webhook; as notifyAfterRun, it never throws. */
export async function notifyAfterCheck(
  db: Db,
  config: Pick<AlertSettings, 'webhookUrl' | 'alerts' | 'webhookTimeoutMs'>,
  check: ProductionCheck,
  parentLog: Logger,
): Promise<AlertOutcome[]> {
  const url = config.webhookUrl;
  if (!url || !config.alerts.includes('production_deviation')) return [];
  const alert = productionDeviationAlert(check);
  if (alert === null) return [];
  const log = parentLog.child({ checkId: check.checkId });
  try {
    return [await deliver(db, url, config.webhookTimeoutMs, alert, log)];
  } catch (error) {
    log.warn({ err: oneLine(error) }, 'alerts failed');
    return [];
  }
}

async function staleAlertsOrNone(
  db: Db,
  config: AlertSettings,
  result: Pick<RunResult, 'runId' | 'sources'>,
  now: Date,
  log: Logger,
): Promise<AlertPayload[]> {
  const sources = [...new Set([...config.sources, ...result.sources.map((s) => s.source)])];
  try {
    return await staleAlerts(db, sources, result.runId, now, log);
  } catch (error) {
    log.warn({ err: oneLine(error) }, 'could not evaluate stale alerts');
    return [];
  }
}

/** POSTs the alert (no database involved), then records it in alert_log. */
async function deliver(
  db: Db | null,
  url: string,
  timeoutMs: number,
  alert: AlertPayload,
  log: Logger,
  unrecorded?: UnrecordedAlerts,
): Promise<AlertOutcome> {
  const sentAt = new Date();
  const delivery = await postJson(url, alert, timeoutMs);
  const outcome: AlertOutcome = { kind: alert.kind, source: alert.source, ...delivery };
  const fields = { kind: alert.kind, source: alert.source, webhook: new URL(url).host, attempts: outcome.attempts };
  if (outcome.delivered) log.info(fields, 'alert sent');
  else log.warn({ ...fields, err: outcome.error }, 'alert not delivered');
  if (db && !outcome.delivered && alert.kind === 'stale' && alert.source) await lowerStale(db, alert.source, log);
  await record(db, alert, outcome, sentAt, log, unrecorded);
  return outcome;
}

async function record(
  db: Db | null,
  alert: AlertPayload,
  outcome: AlertOutcome,
  sentAt: Date,
  log: Logger,
  unrecorded?: UnrecordedAlerts,
): Promise<void> {
  if (!db) return void unrecorded?.add(alert, outcome, sentAt);
  try {
    await recordAlert(db, alert, outcome, sentAt);
  } catch (error) {
    if (!unrecorded) return void log.warn({ kind: alert.kind, err: oneLine(error) }, 'could not record the alert in alert_log');
    unrecorded.add(alert, outcome, sentAt);
    log.warn({ kind: alert.kind, err: oneLine(error) }, 'could not record the alert in alert_log yet: recorded once the database answers');
  }
}
