import { Command, Option } from 'commander';
import { reprocess } from '../jobs/reprocess.js';
import { SOURCE_NAMES, type SourceName } from '../sources/types.js';
import { initWarehouse } from '../warehouse/init.js';
import type { CommandContext } from './context.js';
import { parseDateFlag, parsePercentFlag } from './flags.js';
import { printJson } from './output.js';
import { noteSettingsFromEnvironment } from './settings-note.js';

interface ReprocessFlags {
  since?: string;
  source?: SourceName;
  changeThreshold?: string;
  json?: boolean;
}

export function reprocessCommand(context: () => CommandContext): Command {
  return new Command('reprocess')
    .description('replay stored raw responses (bronze) through the current validation and load code, calling no provider')
    .option('--since <date>', 'only responses extracted on or after this date (YYYY-MM-DD or ISO 8601)')
    .addOption(new Option('--source <name>', 'only this source').choices([...SOURCE_NAMES]))
    .option('--change-threshold <pct>', 'change threshold to apply to the past (default FXPIPE_CHANGE_THRESHOLD_PCT)')
    .option('--json', 'print the result as one JSON object')
    .action(async (flags: ReprocessFlags) => {
      const ctx = context();
      const since = flags.since === undefined ? undefined : parseDateFlag(flags.since, '--since');
      const changeThresholdPct =
        flags.changeThreshold === undefined ? ctx.config.changeThresholdPct : parsePercentFlag(flags.changeThreshold, '--change-threshold');
      const result = await ctx.withDb(async (db) => {
        await initWarehouse(db);
        await noteSettingsFromEnvironment(db, ctx.config, ctx.log);
        return reprocess(db, {
          since,
          source: flags.source,
          changeThresholdPct,
          lockWaitMs: ctx.config.lockWaitMs,
          asOfSkewMs: ctx.config.asOfSkewMinutes * 60_000,
          log: ctx.log,
        });
      });
      if (flags.json) {
        printJson(result);
        return;
      }
      const c = result.counts;
      console.log(
        `Reprocess ${result.runId} ${result.status}: replayed ${result.responses} stored responses — ${c.extracted} values, ` +
          `${c.loaded} history rows added, ${c.unchanged} unchanged, ${c.rejected} rejected, in ${result.elapsedMs} ms.`,
      );
      for (const u of result.unusable) console.log(`  ${u.source} response ${u.extractionId} not usable: ${u.error}`);
    });
}
