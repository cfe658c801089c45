import { durationText, type Config } from '../config.js';
import type { Logger } from '../log.js';
import type { Db } from '../warehouse/db.js';
import { warehouseSettings } from '../warehouse/settings.js';

/**
 * A process whose FXPIPE_MAX_RATE_AGE names another value than the warehouse's max_rate_age says so in one warning line
 * and goes on with the warehouse's: the setting is the warehouse's own (src/warehouse/settings.ts).
 */
export async function noteSettingsFromEnvironment(db: Db, config: Pick<Config, 'maxRateAge'>, log: Logger): Promise<void> {
  if (config.maxRateAge === undefined) return;
  const settings = await warehouseSettings(db);
  if (settings.maxRateAgeMs === config.maxRateAge) return;
  const given = durationText(config.maxRateAge);
  log.warn(
    { maxRateAge: settings.maxRateAge },
    `FXPIPE_MAX_RATE_AGE is ${given} but the warehouse's max_rate_age is ${settings.maxRateAge}: using the warehouse's ` +
      `(\`fxpipe db settings --max-rate-age ${given}\` changes it)`,
  );
}
