import { defaultCalendarRange, ensureDates } from './calendar.js';
import type { Db } from './db.js';
import { migrate, type MigrateResult } from './migrations.js';
import { ensureUpcomingPartitions } from './partitions.js';
import { initialiseSettings, type InitialSettings } from './settings.js';

export interface InitResult extends MigrateResult {
  datesAdded: number;
  partitionsCreated: string[];
}

/**
 * `fxpipe db init`: apply pending migrations, pre-fill the calendar, ensure this month's and the next 3 partitions. A
 * warehouse this call creates (its settings made by the migrations it applies) takes the initial settings given.
 */
export async function initWarehouse(db: Db, now = new Date(), initial: InitialSettings = {}): Promise<InitResult> {
  const migrated = await migrate(db, undefined, (tx, applied) => initialiseSettings(tx, applied, initial));
  return db.transaction(async (tx) => {
    const range = defaultCalendarRange(now);
    const datesAdded = await ensureDates(tx, range.from, range.to);
    const partitionsCreated = await ensureUpcomingPartitions(tx, now);
    return { ...migrated, datesAdded, partitionsCreated };
  });
}
