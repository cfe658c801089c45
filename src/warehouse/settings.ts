import type { Db } from './db.js';
import { setMaxRateAge } from './publications.js';
import { acquireRunLock } from './run-lock.js';

/*
 * The settings that shape what the warehouse stores and answers (fxpipe_settings, one row) are the warehouse's own: the
 * command that creates a warehouse (`fxpipe db init`) gives them their first values, `fxpipe db settings` changes them,
 * and no job writes them from its environment. Two schedulers on two hosts with different environments therefore
 * store the same history.
 */

/** The migration that makes fxpipe_settings: a `db init` applying it creates the warehouse's settings. */
const SETTINGS_MIGRATION = '0012_rates_in_force';

export interface WarehouseSettings {
  /** How long a publication keeps its rates in force, as PostgreSQL writes the interval ('7 days', '1 day 12:00:00'). */
  maxRateAge: string;
  maxRateAgeMs: number;
  /** A source further than this % from the median of the others is left out of the consensus. */
  consensusTolerancePct: number;
  updatedAt: string;
}

export interface SettingsChange {
  maxRateAgeMs?: number;
  consensusTolerancePct?: number;
}

export interface SettingsChanged {
  before: WarehouseSettings;
  after: WarehouseSettings;
  /** The settings whose value changed, by WarehouseSettings' names. */
  changed: ('maxRateAge' | 'consensusTolerancePct')[];
  /** max_rate_age changed: every day's and month's read model was rebuilt under it. */
  readModelsRebuilt: boolean;
}

export async function warehouseSettings(db: Db): Promise<WarehouseSettings> {
  const [row] = await db.query<{ age: string; ms: string; pct: string; updated_at: Date }>(
    `select max_rate_age::text as age, (extract(epoch from max_rate_age) * 1000)::bigint::text as ms,
            consensus_tolerance_pct::text as pct, updated_at
       from fxpipe_settings`,
  );
  return {
    maxRateAge: row!.age,
    maxRateAgeMs: Number(row!.ms),
    consensusTolerancePct: Number(row!.pct),
    updatedAt: row!.updated_at.toISOString(),
  };
}

/**
 * Changes the settings given, under the run lock (no loading job meanwhile, so none loads part of its work under each
 * value), in one transaction: a new max_rate_age rebuilds the read models (setMaxRateAge). Exit code 3 when a job keeps
 * the lock past lockWaitMs.
 */
export async function changeSettings(db: Db, change: SettingsChange, lockWaitMs: number): Promise<SettingsChanged> {
  return db.transaction(async (tx) => {
    await acquireRunLock(tx, lockWaitMs);
    const before = await warehouseSettings(tx);
    const readModelsRebuilt = change.maxRateAgeMs === undefined ? false : await setMaxRateAge(tx, change.maxRateAgeMs);
    const toleranceChanged =
      change.consensusTolerancePct !== undefined &&
      (
        await tx.query(
          `update fxpipe_settings set consensus_tolerance_pct = $1::numeric, updated_at = now()
        where consensus_tolerance_pct <> $1::numeric returning 1`,
          [String(change.consensusTolerancePct)],
        )
      ).length > 0;
    const after = await warehouseSettings(tx);
    const changed = [
      ...(readModelsRebuilt ? ['maxRateAge' as const] : []),
      ...(toleranceChanged ? ['consensusTolerancePct' as const] : []),
    ];
    return { before, after, changed, readModelsRebuilt };
  });
}

/** What a warehouse created by `db init` starts with; unset ones keep the migrations' defaults. */
export interface InitialSettings {
  maxRateAgeMs?: number;
}

/**
 * In the migrations' transaction, when it created the settings (applied SETTINGS_MIGRATION): the initial ones. A
 * warehouse that had them already keeps its own.
 */
export async function initialiseSettings(tx: Db, applied: string[], initial: InitialSettings): Promise<void> {
  if (!applied.includes(SETTINGS_MIGRATION) || initial.maxRateAgeMs === undefined) return;
  await setMaxRateAge(tx, initial.maxRateAgeMs);
}
