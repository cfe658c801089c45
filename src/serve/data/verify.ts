import type { AlertSettings } from '../../alerts/notify.js';
import { notifyAfterCheck } from '../../alerts/notify.js';
import type { Logger } from '../../log.js';
import { checkProductionRates, type ProductionCheck } from '../../verify/check.js';
import { parseProductionRates, ProductionRateError } from '../../verify/production-rates.js';
import type { AlertOutcome } from '../../alerts/kinds.js';
import type { Db } from '../../warehouse/db.js';
import { badParameter, HttpError } from '../http-error.js';

export interface VerifySettings {
  /** The tolerance when the request gives none (FXPIPE_PRODUCTION_TOLERANCE_PCT). */
  tolerancePct: string;
  alerts: Pick<AlertSettings, 'webhookUrl' | 'alerts' | 'webhookTimeoutMs'>;
}

const PERCENT = /^\d{1,6}(\.\d{1,12})?$/;

/**
 * POST /api/v1/verify: the body is what `fxpipe verify --file` reads (CSV, a JSON array or JSON lines), checked,
 * stored and alerted as the command does. A row it cannot read is a 400 naming its line, and nothing is stored.
 */
export async function verifyPosted(db: Db, body: string, query: Record<string, string | undefined>, settings: VerifySettings, log: Logger): Promise<ProductionCheck & { alerts: AlertOutcome[] }> {
  const tolerancePct = query.tolerance?.trim() || settings.tolerancePct;
  if (!PERCENT.test(tolerancePct)) throw badParameter('tolerance', `expected a percentage ≥ 0 such as 0.5, got ${JSON.stringify(tolerancePct.slice(0, 40))}`);
  const label = query.label?.trim() || null;
  if (label !== null && label.length > 200) throw badParameter('label', 'at most 200 characters');
  let rates;
  try {
    rates = parseProductionRates(body, 'the body');
  } catch (error) {
    if (error instanceof ProductionRateError) throw new HttpError(400, `${error.message}; nothing was checked or stored`);
    throw error;
  }
  if (rates.length === 0) throw new HttpError(400, 'the body: no rates in it; nothing was checked or stored');
  const check = await checkProductionRates(db, rates, { tolerancePct, label, now: new Date() });
  return { ...check, alerts: await notifyAfterCheck(db, settings.alerts, check, log) };
}
