import { Command } from 'commander';
import { advise } from '../advise/advise.js';
import { count, ms, months, rate } from '../advise/format.js';
import type { AdviseReport } from '../advise/types.js';
import type { Config } from '../config.js';
import type { CommandContext } from './context.js';
import { parseWholeNumberFlag } from './flags.js';
import { printJson } from './output.js';
import { formatBytes } from '../util/format-bytes.js';
import { alignedTable, shortTime } from './table.js';

export function adviseCommand(context: () => CommandContext): Command {
  return new Command('advise')
    .description(
      "measure this warehouse (writes, growth, refresh, query latency, tiers, connections) and decide the design's growth table: Kafka, TimescaleDB, ClickHouse, Parquet + DuckDB, pooling",
    )
    .option('--window <days>', 'days of runs and history the rates are measured over', '30')
    .option('--samples <n>', 'calls per api query for its p50/p99', '50')
    .option('--json', 'print the measurements and decisions as one JSON object')
    .addHelpText('after', '\nThresholds: FXPIPE_ADVISE_* settings (README, "Configuration").')
    .action(async (flags: { window: string; samples: string; json?: boolean }) => {
      const windowDays = parseWholeNumberFlag(flags.window, '--window', 1, 3650);
      const samples = parseWholeNumberFlag(flags.samples, '--samples', 1, 10_000);
      const ctx = context();
      const { report, database } = await ctx.withReadDb(async (db, target) => ({
        report: await advise(db, { thresholds: thresholdsOf(ctx.config), windowDays, samples }),
        database: target.label,
      }));
      if (flags.json) printJson({ database, ...report });
      else console.log(renderAdvice(database, report).join('\n'));
    });
}

export function thresholdsOf(config: Config): AdviseReport['thresholds'] {
  return {
    kafkaWritesPerSecond: config.adviseKafkaWritesPerSecond,
    timescaleRows: config.adviseTimescaleRows,
    refreshSeconds: config.adviseRefreshSeconds,
    clickhouseRows: config.adviseClickhouseRows,
    hotDays: config.adviseHotDays,
    poolConnections: config.advisePoolConnections,
    horizonMonths: config.adviseHorizonMonths,
  };
}

function renderAdvice(database: string, r: AdviseReport): string[] {
  const w = r.writes;
  const h = r.history;
  const v = r.viewRefresh;
  const out = [`fxpipe advise for ${database} at ${shortTime(r.generatedAt)} (rates over the last ${r.windowDays} days)`, '', 'Measured'];
  out.push(
    `  writes        ${w.runs} incremental runs (${w.failedRuns} failed)` +
      (w.runsPerDay === null
        ? ': fewer than 2, no rate'
        : `, ${rate(w.runsPerDay)} runs/day: ${rate(w.observationsPerSecond ?? 0)} observations/s, ${rate(w.rowsPerSecond ?? 0)} history rows/s stored`) +
      (w.backfill.runs ? `; backfills ${w.backfill.runs} (${count(w.backfill.rows)} rows)` : ''),
  );
  out.push(
    `  history       ${count(h.hotRows)} rows hot + ${count(h.archivedRows)} archived = ${count(h.totalRows)}; growing ${count(h.rowsPerMonth)} rows/month (measured over ${rate(h.measuredDays)} days)`,
  );
  for (const c of h.crossings) {
    const when = c.crossed
      ? 'already crossed'
      : c.monthsAway === null
        ? 'never at this rate'
        : `in ${months(c.monthsAway)}${c.month ? ` (${c.month})` : ''}`;
    out.push(`                ${count(c.thresholdRows)} rows (${c.what}): ${when}`);
  }
  out.push(
    `  view refresh  ${v.runs === 0 ? 'no run has refreshed the views yet' : `latest ${ms(v.latestMs)}, median ${ms(v.medianMs)}, max ${ms(v.maxMs)} over the last ${v.runs} loading runs` + (v.latestByView[0] ? `; slowest ${v.latestByView[0].view} ${ms(v.latestByView[0].ms)}` : '')}`,
  );
  for (const q of r.apiQueries) {
    out.push(
      `  ${q === r.apiQueries[0] ? 'api queries' : '           '}   ${q.query}: ${q.samples === 0 ? 'no data to query' : `p50 ${ms(q.p50Ms)}, p99 ${ms(q.p99Ms)} (${q.samples} calls${q.errors ? `, ${q.errors} errors` : ''})`}`,
    );
  }
  out.push(
    `  hot tier      ${r.hotTier.oldestMonth === null ? 'empty' : `oldest hot month ${r.hotTier.oldestMonth}, ended ${r.hotTier.oldestMonthAgeDays} days ago; older than ${r.thresholds.hotDays} days: ${r.hotTier.beyondHotDays.months} months, ${count(r.hotTier.beyondHotDays.rows)} rows, ${formatBytes(r.hotTier.beyondHotDays.bytes)}`}`,
  );
  out.push(
    `  archive       ${r.archive.months} months, ${count(r.archive.rows)} rows, ${formatBytes(r.archive.bytes)} of Parquet${r.archive.newestMonth ? ` (newest ${r.archive.newestMonth})` : ''}`,
  );
  out.push(
    `  connections   ${r.connections.clients} other client connections now (${r.connections.active} active, ${r.connections.readers} from ${r.connections.readerRoles} reader roles); max_connections ${r.connections.maxConnections}`,
  );

  out.push('', 'Tables (exact rows; size with indexes)');
  out.push(
    ...alignedTable(
      ['table', 'kind', 'rows', 'size'],
      r.tables.map((t) => [t.name, t.kind, count(t.rows), formatBytes(t.bytes)]),
      ['left', 'left', 'right', 'right'],
    ),
  );

  out.push('', 'History by month');
  out.push(
    ...alignedTable(
      ['month', 'hot', 'archived'],
      h.byMonth.map((m) => [m.month, count(m.hotRows), count(m.archivedRows)]),
      ['left', 'right', 'right'],
    ),
  );

  out.push('', "Decisions (the design's growth table, on this data)");
  out.push(
    ...alignedTable(
      ['option', 'measured', 'threshold', 'verdict', 'why', 'command'],
      r.decisions.map((d) => [d.option, d.measured, d.threshold, d.verdict, d.why, d.command ?? '-']),
    ),
  );
  return out;
}
