import { Command, Option } from 'commander';
import { notifyAfterCheck } from '../alerts/notify.js';
import { ExitCode, usageError } from '../errors.js';
import { checkProductionRates, type ProductionCheck } from '../verify/check.js';
import { PRODUCTION_FORMATS, type ProductionFormat } from '../verify/formats.js';
import { configuredProductionInput, readProductionRates, type ProductionInput } from '../verify/production-input.js';
import { ProductionRateError, type ProductionRate } from '../verify/production-rates.js';
import { initWarehouse } from '../warehouse/init.js';
import type { CommandContext } from './context.js';
import { printJson } from './output.js';
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
    .description('check production rates (a processor\'s, a pricing service\'s) against the consensus of the sources in force at each row\'s time; every row stored in production_checks, production_deviation alerted (exit 0 all ok, 4 a row deviates or has no rate, 2 bad input)')
    .option('--file <file>', 'the rates: CSV with a header base,quote,rate[,at], a JSON array of such objects, or JSON lines; at is an ISO 8601 time with its offset (default: now)')
    .option('--url <url>', 'or the rates from an endpoint answering in a provider\'s latest-rates format (--format), each at the answer\'s as-of')
    .addOption(new Option('--format <format>', 'the format --url answers in').choices([...PRODUCTION_FORMATS]))
    .option('--tolerance <pct>', 'a row within this many percent of the consensus is ok (default FXPIPE_PRODUCTION_TOLERANCE_PCT or 0.5)')
    .option('--label <name>', 'a name for this check (e.g. the production system), stored with it')
    .option('--json', 'print the check as one JSON object')
    .addHelpText('after', '\nWithout --file or --url, the configured check: FXPIPE_PRODUCTION_URL with FXPIPE_PRODUCTION_FORMAT, or FXPIPE_PRODUCTION_FILE.')
    .action(async (flags: VerifyFlags) => {
      if (flags.tolerance !== undefined && !/^\d+(\.\d+)?$/.test(flags.tolerance)) throw usageError(`--tolerance ${JSON.stringify(flags.tolerance)}: expected a percentage ≥ 0, e.g. 0.5`);
      const ctx = context();
      const rates = await readRates(inputOf(flags, ctx));
      const check = await ctx.withDb(async (db) => {
        await initWarehouse(db);
        const done = await checkProductionRates(db, rates, {
          tolerancePct: flags.tolerance ?? String(ctx.config.productionTolerancePct),
          label: flags.label ?? null,
          now: new Date(),
        });
        return { ...done, alerts: await notifyAfterCheck(db, ctx.config, done, ctx.log) };
      });
      if (flags.json) printJson(check);
      else printCheck(check);
      if (check.counts.ok < check.rows.length) process.exitCode = ExitCode.deviations;
    });
}

function inputOf(flags: VerifyFlags, ctx: CommandContext): ProductionInput {
  if (flags.file !== undefined && flags.url !== undefined) throw usageError('give the rates with either --file FILE or --url URL --format FORMAT, not both');
  if (flags.url !== undefined) {
    if (flags.format === undefined) throw usageError(`--url needs --format (${PRODUCTION_FORMATS.join(', ')})`);
    return { url: flags.url, format: flags.format };
  }
  if (flags.file !== undefined) return { file: flags.file };
  const configured = configuredProductionInput(ctx.config);
  if (configured === null) throw usageError('give the rates with --file FILE or --url URL --format FORMAT (or set FXPIPE_PRODUCTION_FILE, or FXPIPE_PRODUCTION_URL and FXPIPE_PRODUCTION_FORMAT)');
  return configured;
}

async function readRates(input: ProductionInput): Promise<ProductionRate[]> {
  try {
    return await readProductionRates(input);
  } catch (error) {
    if (error instanceof ProductionRateError) throw usageError(`${error.message}; nothing was checked or stored`);
    throw error;
  }
}

function printCheck(check: ProductionCheck): void {
  const rows = check.rows.map((r) => [
    String(r.line), `${r.base}/${r.quote}`, r.rate, r.consensusRate ?? '-', r.deviationPct === null ? '-' : `${r.deviationPct} %`,
    r.verdict, r.sources === null ? '-' : `${r.sourceCount}: ${r.sources.join(', ')}`, shortTime(r.at),
  ]);
  const lines = alignedTable(['line', 'pair', 'rate', 'consensus', 'deviation', 'verdict', 'sources', 'at'], rows, ['right', 'left', 'right', 'right', 'right']);
  const { ok, deviates, no_rate: noRate } = check.counts;
  console.log(lines.join('\n'));
  console.log(`${check.rows.length} rates checked against the consensus (tolerance ${check.tolerancePct} %): ${ok} ok, ${deviates} deviate, ${noRate} with no rate in force; stored as check ${check.checkId}${check.label ? ` (${check.label})` : ''} in api.production_checks.`);
}
