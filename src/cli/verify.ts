import { Command, Option } from 'commander';
import { notifyAfterCheck } from '../alerts/notify.js';
import { ExitCode, FxpipeError, usageError } from '../errors.js';
import { CheckCancelledError, checkProductionRates, checkRows, type CheckedRate, type ProductionCheck } from '../verify/check.js';
import { PRODUCTION_FORMATS, type ProductionFormat } from '../verify/formats.js';
import { configuredProductionInput, ratesFrom, shownInput, type ProductionInput } from '../verify/production-input.js';
import { ProductionRateError } from '../verify/production-rates.js';
import { initWarehouse } from '../warehouse/init.js';
import type { CommandContext } from './context.js';
import { printJsonWithRows } from './output.js';
import { alignedTable, shortTime } from './table.js';

interface VerifyFlags {
  file?: string;
  url?: string;
  format?: ProductionFormat;
  tolerance?: string;
  label?: string;
  json?: boolean;
}

export function verifyCommand(context: () => CommandContext): Command {
  return new Command('verify')
    .description(
      "check production rates (a processor's, a pricing service's) against the consensus of the sources in force at each row's time; every row stored in production_checks, production_deviation alerted (exit 0 all ok, 4 a row deviates or has no rate, 2 bad input)",
    )
    .option(
      '--file <file>',
      'the rates: CSV with a header base,quote,rate[,at], a JSON array of such objects, or JSON lines; at is an ISO 8601 time with its offset (default: now)',
    )
    .option(
      '--url <url>',
      "or the rates from an endpoint answering in a provider's latest-rates format (--format), each at the answer's as-of",
    )
    .addOption(new Option('--format <format>', 'the format --url answers in').choices([...PRODUCTION_FORMATS]))
    .option('--tolerance <pct>', 'a row within this many percent of the consensus is ok (default FXPIPE_PRODUCTION_TOLERANCE_PCT or 0.5)')
    .option('--label <name>', 'a name for this check (e.g. the production system), stored with it')
    .option('--json', 'print the check as one JSON object')
    .addHelpText(
      'after',
      '\nWithout --file or --url, the configured check: FXPIPE_PRODUCTION_URL with FXPIPE_PRODUCTION_FORMAT, or FXPIPE_PRODUCTION_FILE.',
    )
    .action(async (flags: VerifyFlags) => {
      if (flags.tolerance !== undefined && !/^\d+(\.\d+)?$/.test(flags.tolerance))
        throw usageError(`--tolerance ${JSON.stringify(flags.tolerance)}: expected a percentage ≥ 0, e.g. 0.5`);
      const ctx = context();
      const input = inputOf(flags, ctx);
      const check = await ctx.withDb(async (db) => {
        await initWarehouse(db);
        const done = await checked(() =>
          checkProductionRates(db, ratesFrom(input), {
            tolerancePct: flags.tolerance ?? String(ctx.config.productionTolerancePct),
            label: flags.label ?? null,
            now: new Date(),
            timeoutMs: ctx.config.verifyTimeoutMs,
            maxRows: ctx.config.verifyMaxRows,
            name: shownInput(input),
          }),
        );
        const alerts = await notifyAfterCheck(db, ctx.config, done, ctx.log);
        // Every row, read back from where it is stored: a check of a million rows is never held in memory whole.
        if (flags.json) await printJsonWithRows({ ...checkHead(done) }, 'rows', checkRows(db, done.checkId), { alerts });
        else await printCheck(done, () => checkRows(db, done.checkId));
        return done;
      });
      if (check.counts.ok < check.total) process.exitCode = ExitCode.deviations;
    });
}

/** A check's fields as --json gives them before its rows. */
function checkHead(check: ProductionCheck) {
  const { checkId, label, checkedAt, tolerancePct, counts, total } = check;
  return { checkId, label, checkedAt, tolerancePct, counts, total };
}

function inputOf(flags: VerifyFlags, ctx: CommandContext): ProductionInput {
  if (flags.file !== undefined && flags.url !== undefined)
    throw usageError('give the rates with either --file FILE or --url URL --format FORMAT, not both');
  if (flags.url !== undefined) {
    if (flags.format === undefined) throw usageError(`--url needs --format (${PRODUCTION_FORMATS.join(', ')})`);
    return { url: flags.url, format: flags.format };
  }
  if (flags.file !== undefined) return { file: flags.file };
  const configured = configuredProductionInput(ctx.config);
  if (configured === null)
    throw usageError(
      'give the rates with --file FILE or --url URL --format FORMAT (or set FXPIPE_PRODUCTION_FILE, or FXPIPE_PRODUCTION_URL and FXPIPE_PRODUCTION_FORMAT)',
    );
  return configured;
}

/** The check, with a row it cannot read (or too many rows) as a usage error and a cancelled check as one line. */
async function checked<T>(check: () => Promise<T>): Promise<T> {
  try {
    return await check();
  } catch (error) {
    if (error instanceof ProductionRateError) throw usageError(`${error.message}; nothing was checked or stored`);
    if (error instanceof CheckCancelledError) throw new FxpipeError(error.message, { exitCode: ExitCode.failed });
    throw error;
  }
}

async function printCheck(check: ProductionCheck, rows: () => AsyncIterable<CheckedRate[]>): Promise<void> {
  const cells = (r: CheckedRate) => [
    String(r.line),
    `${r.base}/${r.quote}`,
    r.rate,
    r.consensusRate ?? '-',
    r.deviationPct === null ? '-' : `${r.deviationPct} %`,
    r.verdict,
    r.sources === null ? '-' : `${r.sourceCount}: ${r.sources.join(', ')}`,
    shortTime(r.at),
  ];
  const header = ['line', 'pair', 'rate', 'consensus', 'deviation', 'verdict', 'sources', 'at'];
  const align = ['right', 'left', 'right', 'right', 'right'] as const;
  // Two reads of the stored rows: the columns' widths first, then the lines.
  const widths = header.map((title) => title.length);
  for await (const page of rows()) {
    for (const row of page) cells(row).forEach((cell, i) => (widths[i] = Math.max(widths[i]!, cell.length)));
  }
  let first = true;
  for await (const page of rows()) {
    const lines = alignedTable(header, page.map(cells), [...align], '  ', widths);
    process.stdout.write(`${(first ? lines : lines.slice(1)).join('\n')}\n`);
    first = false;
  }
  const { ok, deviates, no_rate: noRate } = check.counts;
  console.log(
    `${check.total} rates checked against the consensus (tolerance ${check.tolerancePct} %): ${ok} ok, ${deviates} deviate, ${noRate} with no rate in force; stored as check ${check.checkId}${check.label ? ` (${check.label})` : ''} in api.production_checks.`,
  );
}
