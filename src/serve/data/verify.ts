import type { AlertSettings } from '../../alerts/notify.js';
import { notifyAfterCheck } from '../../alerts/notify.js';
import type { AlertOutcome } from '../../alerts/kinds.js';
import type { Logger } from '../../log.js';
import { CheckCancelledError, checkProductionRates, checkRows, type CheckedRate, type ProductionCheck } from '../../verify/check.js';
import { productionRatesIn, ProductionRateError } from '../../verify/production-rates.js';
import type { Db } from '../../warehouse/db.js';
import { badParameter, HttpError } from '../http-error.js';

export interface VerifySettings {
  /** The tolerance when the request gives none (FXPIPE_PRODUCTION_TOLERANCE_PCT). */
  tolerancePct: string;
  /** The longest a check may take (FXPIPE_VERIFY_TIMEOUT_MS), and the most rows it takes (FXPIPE_VERIFY_MAX_ROWS). */
  timeoutMs: number;
  maxRows: number;
  alerts: Pick<AlertSettings, 'webhookUrl' | 'alerts' | 'webhookTimeoutMs'>;
}

/** What POST /api/v1/verify answers: the check, every row, and the alert it raised. */
export type PostedCheck = Omit<ProductionCheck, 'notOk'> & { rows: CheckedRate[]; alerts: AlertOutcome[] };

/**
 * How many checks serve runs at once, from its pool's size: a quarter of it (at least one), so that the read routes
 * always keep the rest; none with a pool of one connection, which a check would take whole.
 */
export const verifyPlaces = (poolSize: number): number => (poolSize < 2 ? 0 : Math.max(1, Math.floor(poolSize / 4)));

const PERCENT = /^\d{1,6}(\.\d{1,12})?$/;

/** The request's tolerance and label, checked before anything else is done. */
export function verifyParameters(
  query: Record<string, string | undefined>,
  settings: VerifySettings,
): { tolerancePct: string; label: string | null } {
  const tolerancePct = query.tolerance?.trim() || settings.tolerancePct;
  if (!PERCENT.test(tolerancePct))
    throw badParameter('tolerance', `expected a percentage ≥ 0 such as 0.5, got ${JSON.stringify(tolerancePct.slice(0, 40))}`);
  const label = query.label?.trim() || null;
  if (label !== null && label.length > 200) throw badParameter('label', 'at most 200 characters');
  return { tolerancePct, label };
}

/**
 * POST /api/v1/verify: the body is what `fxpipe verify --file` reads (CSV, a JSON array or JSON lines), checked,
 * stored and alerted as the command does. A row it cannot read is a 400 naming its line, and nothing is stored; so is
 * a check the client abandons (signal) or that outlasts FXPIPE_VERIFY_TIMEOUT_MS (a 503: nothing is wrong with it).
 */
export async function verifyPosted(
  db: Db,
  body: string,
  parameters: { tolerancePct: string; label: string | null },
  settings: VerifySettings,
  log: Logger,
  signal?: AbortSignal,
): Promise<PostedCheck> {
  let check: ProductionCheck;
  try {
    check = await checkProductionRates(db, productionRatesIn(body, 'the body'), {
      ...parameters,
      now: new Date(),
      timeoutMs: settings.timeoutMs,
      maxRows: settings.maxRows,
      name: 'the body',
      ...(signal ? { signal } : {}),
    });
  } catch (error) {
    if (error instanceof ProductionRateError) throw new HttpError(400, `${error.message}; nothing was checked or stored`);
    if (error instanceof CheckCancelledError) throw new HttpError(503, error.message);
    throw error;
  }
  const alerts = await notifyAfterCheck(db, settings.alerts, check, log);
  // The rows read back: at most what a body of MAX_VERIFY_BYTES holds.
  const rows: CheckedRate[] = [];
  for await (const page of checkRows(db, check.checkId)) rows.push(...page);
  const { notOk: _notOk, ...summary } = check;
  return { ...summary, rows, alerts };
}
