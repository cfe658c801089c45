import { Command } from 'commander';
import { MAX_RATE_AGE, parseMaxRateAge } from '../config.js';
import { usageError } from '../errors.js';
import { initWarehouse } from '../warehouse/init.js';
import {
  changeSettings,
  warehouseSettings,
  type SettingsChange,
  type SettingsChanged,
  type WarehouseSettings,
} from '../warehouse/settings.js';
import type { CommandContext } from './context.js';
import { parsePercentFlag } from './flags.js';
import { printJson } from './output.js';
import { alignedTable, shortTime } from './table.js';

interface SettingsFlags {
  maxRateAge?: string;
  consensusTolerance?: string;
  json?: boolean;
}

/** `fxpipe db settings`: the warehouse's own settings, shown, and changed only here (src/warehouse/settings.ts). */
export function settingsCommand(context: () => CommandContext): Command {
  return new Command('settings')
    .description(
      "show the warehouse's settings, or change them (under the run lock; a new max rate age rebuilds the daily and monthly read models)",
    )
    .option(
      '--max-rate-age <duration>',
      "a rate is in force while its source's latest publication carries it and is at most this old: whole days, hours or minutes (7d, 36h, 90m)",
    )
    .option(
      '--consensus-tolerance <pct>',
      'a source further than this % from the median of the others is left out of the consensus (above 0, at most 100)',
    )
    .option('--json', 'print the settings (and what changed) as one JSON object')
    .action(async (flags: SettingsFlags) => {
      const change = parseChange(flags);
      const ctx = context();
      const { result, database } = await ctx.withDb(async (db, target) => {
        await initWarehouse(db);
        const result: SettingsChanged | WarehouseSettings =
          Object.keys(change).length === 0 ? await warehouseSettings(db) : await changeSettings(db, change, ctx.config.lockWaitMs);
        return { result, database: target.label };
      });
      const changed = 'after' in result ? result : null;
      const settings = changed?.after ?? (result as WarehouseSettings);
      if (flags.json) {
        printJson({
          database,
          ...settings,
          ...(changed ? { changed: changed.changed, readModelsRebuilt: changed.readModelsRebuilt } : {}),
        });
        return;
      }
      if (changed) console.log(changeLine(changed));
      console.log(`Settings of ${database} (last changed ${shortTime(settings.updatedAt)}):`);
      console.log(
        alignedTable(
          ['setting', 'value'],
          [
            ['max_rate_age', settings.maxRateAge],
            ['consensus_tolerance_pct', `${settings.consensusTolerancePct} %`],
          ],
        ).join('\n'),
      );
    });
}

function parseChange(flags: SettingsFlags): SettingsChange {
  const change: SettingsChange = {};
  if (flags.maxRateAge !== undefined) {
    const ms = parseMaxRateAge(flags.maxRateAge);
    if (ms === undefined) throw usageError(`invalid --max-rate-age ${JSON.stringify(flags.maxRateAge)}: expected ${MAX_RATE_AGE}`);
    change.maxRateAgeMs = ms;
  }
  if (flags.consensusTolerance !== undefined) {
    const pct = parsePercentFlag(flags.consensusTolerance, '--consensus-tolerance');
    if (pct === 0)
      throw usageError(
        `invalid --consensus-tolerance ${JSON.stringify(flags.consensusTolerance)}: expected a percentage above 0, at most 100`,
      );
    change.consensusTolerancePct = pct;
  }
  return change;
}

function changeLine({ before, after, changed, readModelsRebuilt }: SettingsChanged): string {
  if (changed.length === 0) return 'Nothing changed: the settings already had these values.';
  const moves = [
    ...(changed.includes('maxRateAge') ? [`max_rate_age from ${before.maxRateAge} to ${after.maxRateAge}`] : []),
    ...(changed.includes('consensusTolerancePct')
      ? [`consensus_tolerance_pct from ${before.consensusTolerancePct} to ${after.consensusTolerancePct}`]
      : []),
  ];
  return `Changed ${moves.join(' and ')}${readModelsRebuilt ? '; rebuilt the daily and monthly read models under the new age' : ''}.`;
}
