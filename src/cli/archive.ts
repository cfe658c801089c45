import path from 'node:path';
import { progressBar, wantsProgress } from './progress.js';
import { Command } from 'commander';
import { ExitCode } from '../errors.js';
import { cutoffDay } from '../tiers/age.js';
import type { ArchiveProgress, ArchiveResult, MonthReport } from '../tiers/archive.js';
import { initWarehouse } from '../warehouse/init.js';
import type { CommandContext } from './context.js';
import { printJson } from './output.js';
import { formatBytes } from '../util/format-bytes.js';

interface ArchiveFlags {
  olderThan: string;
  to?: string;
  dryRun?: boolean;
  json?: boolean;
}

export function archiveCommand(context: () => CommandContext): Command {
  return new Command('archive')
    .description(
      'move history months older than --older-than to Parquet (local directory or S3), verified, then drop their partitions; resumable (exit 0 done, 1 failed or a month skipped, 3 busy)',
    )
    .option('--older-than <age>', 'archive months whose last day is older than this: Nd, Nw or Nm', '90d')
    .option('--to <dest>', 'a directory or s3://bucket/prefix (default FXPIPE_HOME/archive)')
    .option('--dry-run', 'list the months that would be archived, change nothing')
    .option('--json', 'print the result as one JSON object')
    .action(async (flags: ArchiveFlags) => {
      const cutoff = cutoffDay(flags.olderThan, new Date());
      const ctx = context();
      // DuckDB and the S3 client load only for the commands that use them.
      const [{ archiveHistory }, { withObjectStore }] = await Promise.all([
        import('../tiers/archive.js'),
        import('../tiers/store-lifetime.js'),
      ]);
      const bar = progressBar<ArchiveProgress>(
        wantsProgress(flags.json) && !flags.dryRun,
        'archive [{bar}] {value}/{total} months | {month} {step} | {rows} rows archived',
        (p) => ({ done: p.monthsDone, total: p.monthsTotal, fields: { month: p.month ?? '', step: p.step ?? '', rows: p.rowsArchived } }),
      );
      let result: ArchiveResult;
      try {
        result = await withObjectStore(flags.to ?? path.join(ctx.config.home, 'archive'), (store) =>
          ctx.withDirectDb(async (db) => {
            await initWarehouse(db);
            return archiveHistory(db, {
              store,
              cutoff,
              dryRun: flags.dryRun === true,
              lockWaitMs: ctx.config.lockWaitMs,
              log: ctx.log,
              onProgress: bar?.update,
            });
          }),
        );
      } finally {
        bar?.stop();
      }
      for (const month of result.months.filter((m) => m.outcome === 'shadowed')) {
        process.stderr.write(
          `fxpipe: warning: ${month.month} is archived, yet ${month.partition} exists again with ${month.rows} rows loaded after archiving; left alone (fxpipe restore ${month.month} merges them)\n`,
        );
      }
      for (const month of result.months.filter((m) => m.outcome === 'skipped')) {
        process.stderr.write(`fxpipe: warning: ${month.month} skipped, its ${month.rows} rows stay in PostgreSQL: ${month.reason}\n`);
      }
      if (flags.json) printJson(result);
      else printSummary(result);
      // The other months are archived; a skipped one still needs attention (its reason says why).
      if (result.months.some((m) => m.outcome === 'skipped')) process.exitCode = ExitCode.failed;
    });
}

function printSummary(r: ArchiveResult): void {
  if (r.months.length === 0) {
    console.log(`Nothing to archive: no history partition ends before ${r.cutoff}.`);
    return;
  }
  for (const m of r.months) {
    const size = m.bytes === null ? '' : `, ${formatBytes(m.bytes)} Parquet`;
    const what =
      m.outcome === 'would_archive'
        ? 'would be archived'
        : m.outcome === 'shadowed'
          ? 'shadowed (archived, partition exists again): skipped'
          : m.outcome === 'skipped'
            ? `skipped, kept in PostgreSQL: ${m.reason}`
            : `archived${m.resumed ? ' (resumed)' : ''} to ${m.uri}`;
    console.log(`${m.month}: ${m.rows} rows${size} ${what}`);
  }
  const months = (outcome: MonthReport['outcome']) => {
    const n = r.months.filter((m) => m.outcome === outcome).length;
    return `${n} month${n === 1 ? '' : 's'}`;
  };
  if (r.dryRun) {
    console.log(`Dry run: ${months('would_archive')} ending before ${r.cutoff} would go to ${r.dest}.`);
    return;
  }
  const skipped = r.months.some((m) => m.outcome === 'skipped') ? ` ${months('skipped')} skipped (kept in PostgreSQL, see above).` : '';
  console.log(
    `Archived ${months('archived')} ending before ${r.cutoff} to ${r.dest}: ${r.rowsArchived} rows, ${formatBytes(r.bytesArchived)}; ${r.rowsPerSecond} rows/s, ${(r.elapsedMs / 1000).toFixed(1)} s.${skipped}`,
  );
}
