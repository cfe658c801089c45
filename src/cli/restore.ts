import { Command } from 'commander';
import { parseMonth } from '../calendar/months.js';
import type { RestoreResult } from '../tiers/restore.js';
import { initWarehouse } from '../warehouse/init.js';
import type { CommandContext } from './context.js';
import { printJson } from './output.js';

interface RestoreFlags {
  from?: string;
  json?: boolean;
}

export function restoreCommand(context: () => CommandContext): Command {
  return new Command('restore')
    .description('bring an archived month back into PostgreSQL from its Parquet file, verified; idempotent (exit 0 done, 1 failed, 3 busy)')
    .argument('<month>', 'the month, YYYY-MM')
    .option('--from <dest>', 'a directory or s3://bucket/prefix holding the archive (default: where archive_manifest says the month went)')
    .option('--json', 'print the result as one JSON object')
    .action(async (monthArg: string, flags: RestoreFlags) => {
      const month = parseMonth(monthArg, 'month');
      const ctx = context();
      // DuckDB and the S3 client load only for the commands that use them.
      const { restoreMonth } = await import('../tiers/restore.js');
      const result = await ctx.withDirectDb(async (db) => {
        await initWarehouse(db);
        return restoreMonth(db, {
          month,
          ...(flags.from === undefined ? {} : { from: flags.from }),
          lockWaitMs: ctx.config.lockWaitMs,
          log: ctx.log,
        });
      });
      if (flags.json) printJson(result);
      else printSummary(result);
    });
}

function printSummary(r: RestoreResult): void {
  if (r.outcome === 'already_hot') {
    console.log(`${r.month} is already in PostgreSQL (${r.partition}): nothing to restore.`);
    return;
  }
  const kept = r.rows - r.inserted;
  console.log(
    `Restored ${r.month} into ${r.partition} from ${r.uri}: ${r.inserted} rows${kept ? ` (${kept} already present)` : ''}, verified; ${(r.elapsedMs / 1000).toFixed(1)} s.`,
  );
}
