import type { AlertSettings } from '../alerts/notify.js';
import { notifyAfterCheck } from '../alerts/notify.js';
import type { Config } from '../config.js';
import { oneLine } from '../errors.js';
import type { Logger } from '../log.js';
import type { Db } from '../warehouse/db.js';
import { checkProductionRates, type ProductionCheck } from './check.js';
import { ratesFrom, shownInput, type ProductionInput } from './production-input.js';

export type ScheduledCheckSettings = Pick<AlertSettings, 'webhookUrl' | 'alerts' | 'webhookTimeoutMs'> &
  Pick<Config, 'productionTolerancePct' | 'productionLabel' | 'verifyTimeoutMs' | 'verifyMaxRows'>;

/**
 * The production check `fxpipe schedule` runs after each run: the configured rates against the consensus, stored and
 * alerted as `fxpipe verify` does. Its failure (the endpoint down, a malformed file, the database) is one warning in
 * the log: it never fails the scheduler, and the next run's check tries again.
 */
export async function runScheduledCheck(
  db: Db,
  input: ProductionInput,
  settings: ScheduledCheckSettings,
  log: Logger,
  now = new Date(),
): Promise<ProductionCheck | null> {
  try {
    const check = await checkProductionRates(db, ratesFrom(input), {
      tolerancePct: String(settings.productionTolerancePct),
      label: settings.productionLabel ?? 'scheduled',
      now,
      timeoutMs: settings.verifyTimeoutMs,
      maxRows: settings.verifyMaxRows,
      name: shownInput(input),
    });
    const { ok, deviates, no_rate: noRate } = check.counts;
    log.info({ checkId: check.checkId, rows: check.total, ok, deviates, noRate }, 'production check');
    await notifyAfterCheck(db, settings, check, log);
    return check;
  } catch (error) {
    log.warn({ input: shownInput(input), err: oneLine(error) }, 'production check failed');
    return null;
  }
}
