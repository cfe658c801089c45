import { defaultCalendarRange, ensureDates } from './calendar.js';
import type { Db } from './db.js';
import { migrate, type MigrateResult } from './migrations.js';
import { ensureUpcomingPartitions } from './partitions.js';

export interface InitResult extends MigrateResult {
  datesAdded: number;
  partitionsCreated: string[];
}

/** `fxpipe db init`: apply pending migrations, pre-fill the calendar, ensure this month's and the next 3 partitions. */
export async function initWarehouse(db: Db, now = new Date()): Promise<InitResult> {
  const migrated = await migrate(db);
  return db.transaction(async (tx) => {
    const range = defaultCalendarRange(now);
    const datesAdded = await ensureDates(tx, range.from, range.to);
    const partitionsCreated = await ensureUpcomingPartitions(tx, now);
    return { ...migrated, datesAdded, partitionsCreated };
  });
}
