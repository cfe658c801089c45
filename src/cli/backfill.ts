import { access, constants, stat } from 'node:fs/promises';
import path from 'node:path';
import { progressBar, wantsProgress } from './progress.js';
import { Command, Option } from 'commander';
import { runBackfill, type BackfillProgress, type BackfillResult } from '../jobs/backfill.js';
import { isCalendarDay } from '../calendar/days.js';
import { usageError } from '../errors.js';
import type { DayRange } from '../sources/day-range.js';
import { ecbHistory, frankfurterHistory } from '../sources/history-chunks.js';
import { initWarehouse } from '../warehouse/init.js';
import type { CommandContext } from './context.js';
import { parsePercentFlag } from './flags.js';
import { printJson } from './output.js';
import { httpPolicyFrom, sourceSettingsFrom } from './pipeline-options.js';
import { noteSettingsFromEnvironment } from './settings-note.js';

const INPUTS = ['frankfurter', 'ecb-csv'] as const;
type Input = (typeof INPUTS)[number];
/** The ECB's reference rates, which both inputs carry, start in January 1999. */
const FIRST_DAY = '1999-01-01';

interface BackfillFlags {
  from: string;
  to: string;
  source: Input;
  file?: string;
  changeThreshold?: string;
  json?: boolean;
}

export function backfillCommand(context: () => CommandContext): Command {
  return new Command('backfill')
    .description('load history a calendar year per transaction, resumable and idempotent (exit 0 done, 1 failed, 3 busy)')
    .requiredOption('--from <date>', 'first day, YYYY-MM-DD')
    .requiredOption('--to <date>', 'last day, YYYY-MM-DD (a day after today means today)')
    .addOption(
      new Option('--source <name>', "Frankfurter's time series, or the ECB's historical file").choices([...INPUTS]).default('frankfurter'),
    )
    .option(
      '--file <path>',
      'ecb-csv: a local eurofxref-hist.csv or eurofxref-hist.zip (default: download it from FXPIPE_ECB_URL or the ECB)',
    )
    .option(
      '--change-threshold <pct>',
      'store history only for moves beyond this % (default FXPIPE_CHANGE_THRESHOLD_PCT or 0: every value that differs from the last stored one)',
    )
    .option('--json', 'print the result as one JSON object')
    .action(async (flags: BackfillFlags) => {
      const range = parseRange(flags.from, flags.to);
      const file = flags.file === undefined ? undefined : await readableFile(flags.file, flags.source);
      const ctx = context();
      const changeThresholdPct =
        flags.changeThreshold === undefined ? ctx.config.changeThresholdPct : parsePercentFlag(flags.changeThreshold, '--change-threshold');
      const http = httpPolicyFrom(ctx.config);
      const source = flags.source === 'frankfurter' ? 'frankfurter' : 'ecb';
      const settings = sourceSettingsFrom(ctx.config, [source])(source);
      const history =
        flags.source === 'frankfurter'
          ? async () => frankfurterHistory(settings, http, range)
          : () => ecbHistory(file ? { path: file } : { download: settings, http }, range);
      const bar = progressBar<BackfillProgress>(
        wantsProgress(flags.json),
        'backfill [{bar}] {value}/{total} chunks | {rows} rows | {rate} rows/s | {chunk}',
        (p) => ({
          done: p.chunksDone,
          total: p.chunksTotal,
          fields: {
            rows: p.rowsRead,
            rate: Math.round(p.rowsRead / Math.max(p.elapsedMs / 1000, 0.001)),
            chunk: p.chunk ? `${p.chunk.from}..${p.chunk.to}` : '',
          },
        }),
      );
      let result: BackfillResult;
      try {
        result = await ctx.withDirectDb(async (db) => {
          await initWarehouse(db);
          await noteSettingsFromEnvironment(db, ctx.config, ctx.log);
          return runBackfill(db, {
            history,
            range,
            endpoint: settings.baseUrl,
            changeThresholdPct,
            lockWaitMs: ctx.config.lockWaitMs,
            log: ctx.log,
            onProgress: bar?.update,
          });
        });
      } finally {
        bar?.stop();
      }
      if (flags.json) printJson(result);
      else printSummary(result);
    });
}

/** --from and --to as calendar days, in order, from 1999 on; a --to after today means today. */
function parseRange(fromFlag: string, toFlag: string): DayRange {
  const today = new Date().toISOString().slice(0, 10);
  const from = calendarDay(fromFlag, '--from');
  const to = calendarDay(toFlag, '--to');
  if (from < FIRST_DAY)
    throw usageError(`invalid --from ${from}: the ECB's reference rates start in 1999 (expected ${FIRST_DAY} or later)`);
  if (from > to) throw usageError(`invalid --from ${from}: after --to ${to}`);
  if (from > today) throw usageError(`invalid --from ${from}: after today (${today})`);
  return { from, to: to > today ? today : to };
}

function calendarDay(value: string, flag: string): string {
  if (!isCalendarDay(value)) {
    throw usageError(`invalid ${flag} ${JSON.stringify(value)}: expected a calendar date YYYY-MM-DD`);
  }
  return value;
}

async function readableFile(file: string, input: Input): Promise<string> {
  if (input !== 'ecb-csv') throw usageError(`--file is only for --source ecb-csv (--source is ${input})`);
  const resolved = path.resolve(file);
  try {
    await access(resolved, constants.R_OK);
    if (!(await stat(resolved)).isFile()) throw new Error('not a file');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'not readable' : (error as Error).message;
    throw usageError(`invalid --file ${JSON.stringify(file)}: ${reason}`);
  }
  return resolved;
}

function printSummary(r: BackfillResult): void {
  const c = r.counts;
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  console.log(
    `Backfill ${r.runId} ${r.status}: ${r.source} history ${r.from}..${r.to} from ${r.location}, change threshold ${r.changeThresholdPct}%. ` +
      `${plural(c.chunksLoaded, 'chunk')} loaded, ${c.chunksSkipped} skipped (already loaded); ` +
      `${c.read} rows read, ${c.loaded} loaded, ${c.unchanged} unchanged, ${c.rejected} rejected; ` +
      `${plural(r.currentUpdated, 'current rate')} moved forward; ${r.rowsPerSecond} rows/s, ${(r.elapsedMs / 1000).toFixed(1)} s elapsed.`,
  );
}
