import { Command } from 'commander';
import { parseSourcesFlag } from '../config.js';
import { FxpipeError } from '../errors.js';
import { notifyAfterRun } from '../alerts/notify.js';
import { ScheduledFailures } from '../jobs/missed-slot.js';
import { RunFailedError, runPipeline, type RunResult } from '../jobs/pipeline.js';
import { Scheduler, checkSchedule } from '../jobs/scheduler.js';
import { SourceBreakers } from '../sources/breaker.js';
import { configuredProductionInput } from '../verify/production-input.js';
import { runScheduledCheck } from '../verify/scheduled-check.js';
import { initWarehouse } from '../warehouse/init.js';
import type { CommandContext } from './context.js';
import { pipelineOptionsFrom } from './pipeline-options.js';
import { noteSettingsFromEnvironment } from './settings-note.js';
import { superviseEmbeddedWatchdog } from './supervise-watchdog.js';

interface ScheduleFlags {
  cron?: string;
  timezone?: string;
  sources?: string;
  verify: boolean;
}

export function scheduleCommand(context: () => CommandContext): Command {
  return new Command('schedule')
    .description(
      'stay running and run the pipeline on a cron (default every 4 hours), then the configured production check (FXPIPE_PRODUCTION_URL or _FILE); SIGINT/SIGTERM stop it cleanly',
    )
    .option('--cron <pattern>', 'cron pattern, 5 or 6 fields (default FXPIPE_CRON or "0 */4 * * *")')
    .option('--timezone <zone>', 'IANA time zone of the pattern (default FXPIPE_TIMEZONE or UTC)')
    .option(
      '--sources <list>',
      'sources in order, comma-separated, ranked by position: primary, fallback, then references (default FXPIPE_SOURCES)',
    )
    .option('--no-verify', 'do not extract the other sources as references')
    .action(async (flags: ScheduleFlags) => {
      const ctx = context();
      const cron = flags.cron ?? ctx.config.cron;
      const timezone = flags.timezone ?? ctx.config.timezone;
      checkSchedule(cron, timezone);
      const production = configuredProductionInput(ctx.config);
      const options = pipelineOptionsFrom(ctx.config, ctx.log, {
        kind: 'scheduled',
        ...(flags.sources !== undefined ? { sources: parseSourcesFlag(flags.sources) } : {}),
        verify: flags.verify,
        // One set of circuit breakers for the life of the scheduler: a failing source stays skipped between runs.
        breakers: new SourceBreakers(),
      });
      await ctx.withDb(async (db) => {
        await initWarehouse(db);
        // Once, at the start: every run of this scheduler uses the warehouse's settings.
        await noteSettingsFromEnvironment(db, ctx.config, ctx.log);
      });
      const stopSupervising = await superviseEmbeddedWatchdog(ctx);

      const alertSettings = { ...ctx.config, sources: options.sources };
      const failures = new ScheduledFailures(alertSettings, ctx.log);
      const scheduler = new Scheduler({
        cron,
        timezone,
        // Each slot and heartbeat connects anew; after a connection failure the database is located again
        // (the embedded server restarted on another port, or started here when it is down).
        withDb: (fn) => ctx.withDb(fn),
        log: ctx.log,
        recordMissedSlot: (db, missed) => failures.recordMissedSlot(db, missed),
        onMissed: (missed) => failures.slotMissed(missed),
        async runSlot(db) {
          // Alerts sent while the database failed are recorded now that it answers.
          await failures.recordPending(db);
          let result: RunResult;
          try {
            result = await runPipeline(db, options);
          } catch (error) {
            if (error instanceof FxpipeError && error.exitCode === 3) return { runId: null, status: 'busy' };
            // The database failed the run: run_failed goes out now, even while it stays down.
            if (error instanceof RunFailedError) await failures.runFailed(db, error);
            throw error;
          }
          await notifyAfterRun(db, alertSettings, result, ctx.log, { unrecorded: failures.unrecorded });
          if (production !== null) await runScheduledCheck(db, production, ctx.config, ctx.log);
          return { runId: result.runId, status: result.status };
        },
      });
      // Signals are handled from the start: the catch-up run inside start() is stopped cleanly too.
      const stopped = stopOnSignal(scheduler);
      await scheduler.start();
      if (!scheduler.stopping) {
        console.log(
          `Scheduler ${scheduler.instanceId} running "${cron}" (${timezone}); next run ${scheduler.nextRun()?.toISOString() ?? 'never'}. Ctrl-C stops it.`,
        );
      }
      await stopped;
      await failures.abandon();
      stopSupervising();
      console.log('Scheduler stopped.');
    });
}

/** The first SIGINT/SIGTERM stops after the run in progress; a second one exits at once (PostgreSQL rolls the run back). */
function stopOnSignal(scheduler: Scheduler): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        process.stderr.write(`fxpipe: ${signal} again: exiting now; the run in progress rolls back\n`);
        process.exit(130);
      }
      stopping = true;
      if (scheduler.busy) console.log(`${signal}: stopping after the run in progress (send it again to abort the run).`);
      void scheduler.stop().then(() => {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        resolve();
      });
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
