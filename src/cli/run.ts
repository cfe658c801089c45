import { Command, Option } from 'commander';
import type { AlertOutcome } from '../alerts/kinds.js';
import { notifyAfterRun } from '../alerts/notify.js';
import { parseSourcesFlag } from '../config.js';
import { ExitCode } from '../errors.js';
import { parsePercentFlag } from './flags.js';
import { runPipeline, type RunResult } from '../pipeline.js';
import { initWarehouse } from '../warehouse/init.js';
import type { CommandContext } from './context.js';
import { printJson } from './output.js';
import { pipelineOptionsFrom } from './pipeline-options.js';

interface RunFlags {
  sources?: string;
  verify: boolean;
  dryRun?: boolean;
  json?: boolean;
  kind: 'manual' | 'scheduled';
  changeThreshold?: string;
}

export function runCommand(context: () => CommandContext): Command {
  return new Command('run')
    .description('run the pipeline once: extract, validate, load, refresh views (exit 0 loaded/unchanged, 1 failed, 3 busy)')
    .option('--sources <list>', 'sources in order, comma-separated, ranked by position: primary, fallback, then references (default FXPIPE_SOURCES or open-er-api,frankfurter)')
    .option('--no-verify', 'do not extract the other sources as references')
    .option('--dry-run', 'do everything, then roll back: nothing is stored')
    .option('--json', 'print the result as one JSON object')
    .option('--change-threshold <pct>', 'store history only for moves beyond this % (default FXPIPE_CHANGE_THRESHOLD_PCT or 0: every value that differs from the last stored one)')
    .addOption(new Option('--kind <kind>', 'how the run is recorded').choices(['manual', 'scheduled']).default('manual'))
    .action(async (flags: RunFlags) => {
      const ctx = context();
      const changeThresholdPct = flags.changeThreshold === undefined ? ctx.config.changeThresholdPct : parsePercentFlag(flags.changeThreshold, '--change-threshold');
      const options = pipelineOptionsFrom(ctx.config, ctx.log, {
        kind: flags.kind,
        ...(flags.sources !== undefined ? { sources: parseSourcesFlag(flags.sources) } : {}),
        verify: flags.verify,
        dryRun: Boolean(flags.dryRun),
        changeThresholdPct,
      });
      const { result, alerts } = await ctx.withDb(async (db) => {
        await initWarehouse(db); // a fresh database needs no separate `db init`
        const result = await runPipeline(db, options);
        // After the commit; never throws, bounded by the webhook's delivery budget.
        return { result, alerts: await notifyAfterRun(db, { ...ctx.config, sources: options.sources }, result, ctx.log) };
      });
      if (flags.json) {
        printJson({ ...result, alerts });
      } else {
        printSummary(result);
        printAlerts(alerts);
      }
      if (result.status === 'failed') {
        if (!flags.json) process.stderr.write(`fxpipe: run failed: ${result.error}\n`);
        process.exitCode = ExitCode.failed;
      }
    });
}

export function printSummary(result: RunResult): void {
  const head = result.dryRun ? `Dry run ${result.runId} (rolled back)` : `Run ${result.runId}`;
  const c = result.counts;
  if (result.sourceUsed) {
    console.log(
      `${head} ${result.status} from ${result.sourceUsed}${result.failover ? ' (failover)' : ''}, as of ${result.asOf}: ` +
        `${c.extracted} extracted, ${c.loaded} loaded, ${c.unchanged} unchanged, ${c.rejected} rejected in ${Math.round(result.stageMs.total)} ms.`,
    );
  } else {
    console.log(`${head} failed: no source delivered.`);
  }
  for (const s of result.sources) {
    const detail = s.status === 'ok' ? `${s.extracted} extracted, ${s.loaded} loaded, ${s.unchanged} unchanged, ${s.rejected} rejected` : s.error;
    console.log(`  ${s.source} (${s.role}): ${s.status} — ${detail}`);
  }
  const { zscore, referenceDeviations } = result.flags;
  if (zscore.length > 0) console.log(`  flagged (z-score): ${zscore.map((f) => `${f.quote} z=${f.z}`).join(', ')}`);
  if (referenceDeviations.length > 0) {
    console.log(`  flagged (reference deviation): ${referenceDeviations.map((d) => `${d.quote} ${d.deviationPct}% vs ${d.reference}`).join(', ')}`);
  }
}

function printAlerts(alerts: AlertOutcome[]): void {
  if (alerts.length === 0) return;
  const shown = alerts.map((a) => `${a.kind}${a.source ? ` (${a.source})` : ''} ${a.delivered ? 'sent' : `not delivered: ${a.error}`}`);
  console.log(`  alerts: ${shown.join('; ')}`);
}
