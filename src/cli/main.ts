import { Command, CommanderError } from 'commander';
import { ExitCode, FxpipeError, oneLine } from '../errors.js';
import { createContext, type CommandContext } from './context.js';
import { dbCommand } from './db.js';
import { runCommand } from './run.js';
import { demoCommand } from './demo.js';
import { statusCommand } from './status.js';
import { scheduleCommand } from './schedule.js';
import { reprocessCommand } from './reprocess.js';
import { backfillCommand } from './backfill.js';
import { archiveCommand } from './archive.js';
import { restoreCommand } from './restore.js';
import { queryCommand } from './query.js';
import { adviseCommand } from './advise.js';
import { serveCommand } from './serve.js';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../util/package-root.js';

const version = (JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;

/** commander's own errors ("error: unknown option …") as fxpipe's one-line errors. */
const writeErr = (text: string) => process.stderr.write(text.startsWith('error:') ? `fxpipe: ${text}` : text);

export function buildProgram(): Command {
  const program = new Command('fxpipe')
    .description('Keeps a PostgreSQL warehouse of currency exchange rates (star schema, partitioned history, materialized views).')
    .version(version)
    .option('--verbose', 'debug logs, and stack traces on errors')
    .option('-q, --quiet', 'only errors in the logs')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ writeErr });

  let ctx: CommandContext | undefined;
  const context = () => (ctx ??= createContext(program.opts()));
  program.addCommand(dbCommand(context));
  program.addCommand(runCommand(context));
  program.addCommand(demoCommand(context));
  program.addCommand(statusCommand(context));
  program.addCommand(scheduleCommand(context));
  program.addCommand(reprocessCommand(context));
  program.addCommand(backfillCommand(context));
  program.addCommand(archiveCommand(context));
  program.addCommand(restoreCommand(context));
  program.addCommand(queryCommand(context));
  program.addCommand(adviseCommand(context));
  program.addCommand(serveCommand(context));

  for (const command of program.commands) exitOverrideDeep(command);
  return program;
}

function exitOverrideDeep(command: Command): void {
  command.exitOverride().configureOutput({ writeErr });
  for (const sub of command.commands) exitOverrideDeep(sub);
}

/** Runs the CLI; returns the exit code. Known errors print one line; stack traces only with --verbose. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  const verbose = argv.includes('--verbose');
  try {
    await program.parseAsync(argv);
    // A command that finished but failed (a failed run) sets process.exitCode.
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and --version "errors" exit 0; every other commander error is a usage error, already printed.
      return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    if (error instanceof FxpipeError) {
      process.stderr.write(`fxpipe: ${oneLine(error)}\n`);
      if (verbose && error.cause instanceof Error) process.stderr.write(`${error.cause.stack}\n`);
      return error.exitCode;
    }
    process.stderr.write(`fxpipe: ${oneLine(error)}\n`);
    if (verbose && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    return ExitCode.failed;
  }
}
