import { Command } from 'commander';
import { SCHEDULER_ALIVE_SECONDS, warehouseStatus, type WarehouseStatus } from '../warehouse/status.js';
import type { CommandContext } from './context.js';
import { parseWholeNumberFlag } from './flags.js';
import { printJson } from './output.js';
import { formatBytes } from '../util/format-bytes.js';
import { alignedTable, shortTime } from './table.js';

const ERROR_WIDTH = 80;

export function statusCommand(context: () => CommandContext): Command {
  return new Command('status')
    .description(
      'recent runs, freshness per source, table and partition sizes, rejects, the scheduler, the warehouse settings, the last production check, recent alerts',
    )
    .option('--runs <n>', 'how many recent runs to show', '10')
    .option('--json', 'print the status as one JSON object')
    .action(async (flags: { runs: string; json?: boolean }) => {
      const ctx = context();
      const runs = parseWholeNumberFlag(flags.runs, '--runs', 1, 1000);
      const { status, database } = await ctx.withReadDb(async (db, target) => ({
        status: await warehouseStatus(db, { sources: ctx.config.sources, runs }),
        database: target.label,
      }));
      if (flags.json) printJson({ database, ...status });
      else console.log(renderStatus(database, status).join('\n'));
    });
}

/** The human status: compact aligned sections. */
function renderStatus(database: string, status: WarehouseStatus): string[] {
  const out = [`fxpipe status of ${database} at ${shortTime(status.generatedAt)}`, ''];

  out.push(`Runs (last ${status.runs.length})`);
  if (status.runs.length === 0) {
    out.push('  none yet');
  } else {
    out.push(
      ...alignedTable(
        ['started', 'finished', 'kind', 'status', 'source', 'failover', 'extracted', 'loaded', 'unchanged', 'rejected', 'error'],
        status.runs.map((r) => [
          shortTime(r.startedAt),
          shortTime(r.finishedAt),
          r.kind,
          r.status,
          r.sourceUsed ?? '-',
          r.failover ? 'yes' : 'no',
          String(r.counts.extracted),
          String(r.counts.loaded),
          String(r.counts.unchanged),
          String(r.counts.rejected),
          clip(r.error ?? ''),
        ]),
        ['left', 'left', 'left', 'left', 'left', 'left', 'right', 'right', 'right', 'right'],
      ),
    );
  }

  out.push('', 'Freshness (newest as-of per source)');
  out.push(
    ...alignedTable(
      ['source', 'cadence', 'as of', 'age', 'expected day', 'state'],
      status.freshness.map((f) => [
        f.configured ? f.source : `${f.source} (not configured)`,
        f.cadence,
        shortTime(f.asOf),
        f.ageHours === null ? '-' : `${f.ageHours} h`,
        f.expectedDay ?? '-',
        f.state,
      ]),
      ['left', 'left', 'left', 'right'],
    ),
  );

  out.push('', 'Tables (exact row counts; size with indexes)');
  out.push(
    ...alignedTable(
      ['table', 'kind', 'rows', 'size'],
      status.tables.map((t) => [t.name, t.kind.replace('_', ' '), String(t.rows), formatBytes(t.bytes)]),
      ['left', 'left', 'right', 'right'],
    ),
  );

  out.push('', 'History partitions (exact row counts)');
  out.push(
    ...alignedTable(
      ['partition', 'from', 'to', 'rows', 'size'],
      status.partitions.map((p) => [p.name, p.from ?? 'default', p.to ?? '', String(p.rows), formatBytes(p.bytes)]),
      ['left', 'left', 'left', 'right', 'right'],
    ),
  );

  const rejected = status.rejectedLast24h;
  const reasons = rejected.byReason.map((r) => `${r.reason} ${r.count}`).join(', ');
  out.push('', `Rejected in the last 24 h: ${rejected.total}${reasons ? ` (${reasons})` : ''}`);

  const s = status.scheduler;
  out.push(
    '',
    s
      ? `Scheduler: alive on ${s.hostname} (pid ${s.pid}), "${s.cron}" ${s.timezone}, last seen ${shortTime(s.lastSeenAt)}; next run ${shortTime(s.nextRunAt)}`
      : `Scheduler: none alive (no heartbeat in the last ${SCHEDULER_ALIVE_SECONDS / 60} minutes)`,
  );

  const settings = status.settings;
  if (settings) {
    out.push(
      '',
      `Settings: max_rate_age ${settings.maxRateAge}, consensus_tolerance_pct ${settings.consensusTolerancePct} % (\`fxpipe db settings\` changes them)`,
    );
  }

  const check = status.productionCheck;
  if (check) {
    out.push(
      '',
      `Last production check: ${check.label ? `${check.label}, ` : ''}${shortTime(check.checkedAt)}: ${check.rows} rates, ${check.ok} ok, ${check.deviates} deviate, ${check.noRate} with no rate in force (check ${check.checkId})`,
    );
    if (check.notOk.length > 0) {
      out.push(
        ...alignedTable(
          ['line', 'pair', 'rate', 'consensus', 'deviation', 'verdict'],
          check.notOk.map((r) => [
            String(r.line),
            `${r.base}/${r.quote}`,
            r.rate,
            r.consensusRate ?? '-',
            r.deviationPct === null ? '-' : `${r.deviationPct} %`,
            r.verdict,
          ]),
          ['right', 'left', 'right', 'right', 'right'],
        ),
      );
    }
  }

  if (status.alerts.length > 0) {
    out.push('', 'Recent alerts');
    out.push(
      ...alignedTable(
        ['sent', 'kind', 'source', 'delivered', 'attempts', 'message'],
        status.alerts.map((a) => [
          shortTime(a.sentAt),
          a.kind,
          a.source ?? '-',
          a.delivered ? 'yes' : `no: ${clip(a.error ?? '', 40)}`,
          String(a.attempts),
          clip(a.message),
        ]),
        ['left', 'left', 'left', 'left', 'right'],
      ),
    );
  }
  return out;
}

function clip(text: string, width = ERROR_WIDTH): string {
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
}
