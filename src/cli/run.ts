import { Command, Option } from 'commander';
import type { AlertOutcome } from '../alerts/kinds.js';
import { notifyAfterRun } from '../alerts/notify.js';
import { parseSourcesFlag } from '../config.js';
import { ExitCode, oneLine } from '../errors.js';
import { parsePercentFlag } from './flags.js';
import { failedRunResult, RunFailedError, runPipeline, type RunResult } from '../jobs/pipeline.js';
import { UnrecordedAlerts } from '../warehouse/alert-log.js';
import { initWarehouse } from '../warehouse/init.js';
import { recordFailedRun } from '../warehouse/runs.js';
import type { CommandContext } from './context.js';
import { printJson } from './output.js';
import { pipelineOptionsFrom } from './pipeline-options.js';
import { noteSettingsFromEnvironment } from './settings-note.js';

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
    .option(
      '--sources <list>',
      'sources in order, comma-separated, ranked by position: primary, fallback, then references (default FXPIPE_SOURCES or open-er-api,frankfurter)',
    )
    .option('--no-verify', 'do not extract the other sources as references')
    .option('--dry-run', 'do everything, then roll back: nothing is stored')
    .option('--json', 'print the result as one JSON object')
    .option(
      '--change-threshold <pct>',
      'store history only for moves beyond this % (default FXPIPE_CHANGE_THRESHOLD_PCT or 0: every value that differs from the last stored one)',
    )
    .addOption(new Option('--kind <kind>', 'how the run is recorded').choices(['manual', 'scheduled']).default('manual'))
    .action(async (flags: RunFlags) => {
      const ctx = context();
      const changeThresholdPct =
        flags.changeThreshold === undefined ? ctx.config.changeThresholdPct : parsePercentFlag(flags.changeThreshold, '--change-threshold');
      const options = pipelineOptionsFrom(ctx.config, ctx.log, {
        kind: flags.kind,
        ...(flags.sources !== undefined ? { sources: parseSourcesFlag(flags.sources) } : {}),
        verify: flags.verify,
        dryRun: Boolean(flags.dryRun),
        changeThresholdPct,
      });
      const unrecorded = new UnrecordedAlerts();
      const { result, failure, alerts } = await ctx.withDb(async (db) => {
        await initWarehouse(db); // a fresh database needs no separate `db init`
        await noteSettingsFromEnvironment(db, ctx.config, ctx.log);
        let result: RunResult;
        let failure: RunFailedError | null = null;
        try {
          result = await runPipeline(db, options);
        } catch (error) {
          // The database failed the run: its record and its alerts all the same (the webhook needs no database).
          if (!(error instanceof RunFailedError)) throw error;
          failure = error;
          result = failedRunResult(error.run, options.dryRun);
        }
        // After the commit; never throws, bounded by the webhook's delivery budget.
        const alerts = await notifyAfterRun(db, { ...ctx.config, sources: options.sources }, result, ctx.log, { unrecorded });
        return { result, failure, alerts };
      });
      if (failure?.unrecorded || unrecorded.size > 0) await recordOnceMore(ctx, failure, unrecorded);
      if (flags.json) {
        printJson({ ...result, alerts });
      } else {
        if (!failure) printSummary(result);
        printAlerts(alerts);
      }
      // The database's own message, in one line on stderr (exit 1).
      if (failure) throw failure;
      if (result.status === 'failed') {
        if (!flags.json) process.stderr.write(`fxpipe: run failed: ${result.error}\n`);
        process.exitCode = ExitCode.failed;
      }
    });
}

/**
 * What the database failed to record during a failed run (its row, the alerts sent), tried once more on a new
 * connection: a connection that was terminated, or a server that restarted, answers again. Else each is logged.
 */
async function recordOnceMore(ctx: CommandContext, failure: RunFailedError | null, unrecorded: UnrecordedAlerts): Promise<void> {
  try {
    await ctx.withDb(async (db) => {
      if (failure?.unrecorded) await recordFailedRun(db, failure.run);
      await unrecorded.record(db);
    });
  } catch (error) {
    const err = oneLine(error);
    if (failure?.unrecorded) ctx.log.warn({ runId: failure.runId, err }, 'could not record the failed run: the database did not answer');
    for (const alert of unrecorded.drain()) {
      ctx.log.warn({ kind: alert.kind, runId: alert.runId, err }, 'could not record the alert in alert_log: the database did not answer');
    }
  }
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
    const detail =
      s.status === 'ok' ? `${s.extracted} extracted, ${s.loaded} loaded, ${s.unchanged} unchanged, ${s.rejected} rejected` : s.error;
    console.log(`  ${s.source} (${s.role}): ${s.status} — ${detail}`);
  }
  const { zscore, referenceDeviations } = result.flags;
  if (zscore.length > 0) console.log(`  flagged (z-score): ${zscore.map((f) => `${f.quote} z=${f.z}`).join(', ')}`);
  if (referenceDeviations.length > 0) {
    console.log(
      `  flagged (reference deviation): ${referenceDeviations.map((d) => `${d.quote} ${d.deviationPct}% vs ${d.reference}`).join(', ')}`,
    );
  }
}

function printAlerts(alerts: AlertOutcome[]): void {
  if (alerts.length === 0) return;
  const shown = alerts.map((a) => `${a.kind}${a.source ? ` (${a.source})` : ''} ${a.delivered ? 'sent' : `not delivered: ${a.error}`}`);
  console.log(`  alerts: ${shown.join('; ')}`);
}
