import { readFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { ExitCode, usageError } from '../errors.js';
import { checkProductionRates, type ProductionCheck } from '../verify/check.js';
import { parseProductionRates, ProductionRateError, type ProductionRate } from '../verify/production-rates.js';
import { fetchProductionRates, PRODUCTION_FORMATS, type ProductionFormat } from '../verify/production-url.js';
import { initWarehouse } from '../warehouse/init.js';
import type { CommandContext } from './context.js';
import { printJson } from './output.js';
import { alignedTable, shortTime } from './table.js';

interface VerifyFlags {
  file?: string;
  url?: string;
  format?: ProductionFormat;
  tolerance: string;
  label?: string;
  json?: boolean;
}

export function verifyCommand(context: () => CommandContext): Command {
  return new Command('verify')
    .description('check production rates (a processor\'s, a pricing service\'s) against the consensus of the sources in force at each row\'s time; every row stored in production_checks (exit 0 all ok, 4 a row deviates or has no rate, 2 bad input)')
    .option('--file <file>', 'the rates: CSV with a header base,quote,rate[,at], a JSON array of such objects, or JSON lines; at is an ISO 8601 time with its offset (default: now)')
    .option('--url <url>', 'or the rates from an endpoint answering in a provider\'s latest-rates format (--format), each at the answer\'s as-of')
    .addOption(new Option('--format <format>', 'the format --url answers in').choices([...PRODUCTION_FORMATS]))
    .option('--tolerance <pct>', 'a row within this many percent of the consensus is ok', '0.5')
    .option('--label <name>', 'a name for this check (e.g. the production system), stored with it')
    .option('--json', 'print the check as one JSON object')
    .action(async (flags: VerifyFlags) => {
      if (!/^\d+(\.\d+)?$/.test(flags.tolerance)) throw usageError(`--tolerance ${JSON.stringify(flags.tolerance)}: expected a percentage ≥ 0, e.g. 0.5`);
      if ((flags.file === undefined) === (flags.url === undefined)) throw usageError('give the rates with either --file FILE or --url URL --format FORMAT');
      if (flags.url !== undefined && flags.format === undefined) throw usageError(`--url needs --format (${PRODUCTION_FORMATS.join(', ')})`);
      const rates = await readRates(flags);
      const ctx = context();
      const check = await ctx.withDb(async (db) => {
        await initWarehouse(db);
        return checkProductionRates(db, rates, { tolerancePct: flags.tolerance, label: flags.label ?? null, now: new Date() });
      });
      if (flags.json) printJson(check);
      else printCheck(check);
      if (check.counts.ok < check.rows.length) process.exitCode = ExitCode.deviations;
    });
}

async function readRates(flags: VerifyFlags): Promise<ProductionRate[]> {
  let rates: ProductionRate[];
  try {
    if (flags.url !== undefined) {
      rates = await fetchProductionRates(flags.url, flags.format!);
    } else {
      let text: string;
      try {
        text = await readFile(flags.file!, 'utf8');
      } catch (error) {
        throw usageError(`--file ${flags.file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
      }
      rates = parseProductionRates(text, flags.file!);
    }
  } catch (error) {
    if (error instanceof ProductionRateError) throw usageError(`${error.message}; nothing was checked or stored`);
    throw error;
  }
  if (rates.length === 0) throw usageError(`${flags.url === undefined ? flags.file : 'the answer'}: no rates in it; nothing was checked or stored`);
  return rates;
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
