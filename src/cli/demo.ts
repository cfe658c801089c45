import { Command } from 'commander';
import { runDemo, DEMO_SOURCES, type DemoProgress } from '../demo/run-demo.js';
import { progressBar, wantsProgress } from './progress.js';
import { demoReport, type DemoReport } from '../demo/report.js';
import { openDb } from '../warehouse/connection.js';
import { recreateDatabase } from '../warehouse/databases.js';
import { initWarehouse } from '../warehouse/init.js';
import type { CommandContext } from './context.js';
import { parseWholeNumberFlag } from './flags.js';
import { printJson } from './output.js';

export const DEMO_DATABASE = 'fxpipe_demo';

interface DemoFlags {
  days: string;
  seed: string;
  json?: boolean;
}

export function demoCommand(context: () => CommandContext): Command {
  return new Command('demo')
    .description(
      `run the whole pipeline offline: simulated providers on 127.0.0.1, N days of 4-hourly runs into the ${DEMO_DATABASE} database`,
    )
    .option('--days <n>', 'simulated days of runs (1-366)', '30')
    .option('--seed <n>', 'seed of the simulated market', '42')
    .option('--json', 'print the summary as one JSON object (no progress bar)')
    .action(async (flags: DemoFlags) => {
      const days = parseWholeNumberFlag(flags.days, '--days', 1, 366);
      const seed = parseWholeNumberFlag(flags.seed, '--seed', 0, 2 ** 31 - 1);
      const ctx = context();
      const target = await recreateDatabase(await ctx.target(), DEMO_DATABASE);
      const db = await openDb(target);
      try {
        await initWarehouse(db);
        const bar = progressBar<DemoProgress>(wantsProgress(flags.json), 'demo [{bar}] {value}/{total} runs | {slot} | {status}', (p) => ({
          done: p.runsDone,
          total: p.runsTotal,
          fields: { slot: p.slot, status: p.status },
        }));
        if (!flags.json) {
          console.log(
            `fxpipe demo: ${days} simulated days of 4-hourly runs (${days * 6}) from ${DEMO_SOURCES.join(', ')} simulated on 127.0.0.1, into ${target.label}.`,
          );
        }
        // The outage's warnings are the demo's point, reported in its summary rather than logged line by line.
        const log = ctx.log.child({}, { level: ctx.log.level === 'debug' || ctx.log.level === 'trace' ? ctx.log.level : 'error' });
        const summary = await runDemo(db, { days, seed, end: new Date(), log, ...(bar ? { onProgress: bar.update } : {}) }).finally(() =>
          bar?.stop(),
        );
        const report = await demoReport(db);
        if (flags.json) printJson({ database: DEMO_DATABASE, ...summary, report });
        else printReport(summary, report);
      } finally {
        await db.close();
      }
    });
}

function printReport(summary: Awaited<ReturnType<typeof runDemo>>, report: DemoReport): void {
  const s = summary.byStatus;
  console.log(
    `Ran ${summary.runs} runs from ${summary.firstRun.slice(0, 16)}Z to ${summary.lastRun.slice(0, 16)}Z in ${(summary.elapsedMs / 1000).toFixed(1)} s: ` +
      `${s.loaded ?? 0} loaded, ${s.unchanged ?? 0} unchanged (open-er-api publishes once a day), ${s.failed ?? 0} failed.`,
  );
  const { offered, stored } = summary.observations;
  console.log(
    `Change rule: ${stored} of ${offered} observations stored; ${offered - stored} skipped as exact repeats ` +
      `(${offered === 0 ? 0 : (((offered - stored) / offered) * 100).toFixed(1)}%): every published value stays recoverable.`,
  );
  console.log(`Primary outage from ${summary.outage.from.slice(0, 16)}Z: ${summary.failoverRuns} runs failed over to the next source.`);
  console.log(
    `Warehouse: ${report.historyRows} history rows in ${report.partitions.length} monthly partition${report.partitions.length === 1 ? '' : 's'}, ${report.currencies} currencies ` +
      `(${report.nonIsoCurrencies} outside ISO 4217), ${report.sources} sources, ${report.rejected} rejected values.`,
  );
  if (report.rejects.length > 0) {
    console.log(
      `Quarantined in rejected_rates (payload of ${summary.corruptedAt.slice(0, 16)}Z): ` +
        report.rejects.map((r) => `${r.quote}=${r.value} (${r.reason})`).join(', '),
    );
  }
  console.log('\nLatest USD rates from open-er-api (vw_rates_latest):');
  for (const r of report.latest) console.log(`  USD/${r.quote}  ${r.rate.padEnd(12)} as of ${r.asOf}`);
  console.log('\nUSD/EUR across sources (vw_rates_comparison):');
  for (const r of report.comparison)
    console.log(`  ${r.source.padEnd(12)} ${r.rate.padEnd(20)} ${Number(r.deviationPct) >= 0 ? '+' : ''}${r.deviationPct}%`);
  console.log('\nUSD/EUR daily from frankfurter (vw_rates_daily_agg):');
  for (const r of report.daily) console.log(`  ${r.date}  open ${r.open}  close ${r.close}  min ${r.min}  max ${r.max}`);
  console.log('\nMost volatile this month (vw_rates_monthly_agg):');
  for (const r of report.mostVolatile) console.log(`  USD/${r.quote}  ${r.volatilityPct}%`);
  console.log(`\nExplore it: psql "$(npx fxpipe db url --database ${DEMO_DATABASE})"`);
  console.log('Against the real providers: npx fxpipe run');
}
