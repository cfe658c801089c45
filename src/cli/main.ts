import type * as CommanderApi from 'commander';
import { createRequire } from 'node:module';
import { ExitCode, FxpipeError, oneLine } from '../errors.js';
import { fxpipeVersion } from '../util/version.js';
import { createContext, type CommandContext } from './context.js';

// commander with require: as an ES module it loads through its ESM wrapper and the ES module loader, ~10 ms more
// per process (measured), and every command pays it; the commands' own `import … from 'commander'` then reuse it.
const { Command, CommanderError } = createRequire(import.meta.url)('commander') as typeof CommanderApi;
type Command = CommanderApi.Command;

/** commander's own errors ("error: unknown option …") as fxpipe's one-line errors. */
const writeErr = (text: string) => process.stderr.write(text.startsWith('error:') ? `fxpipe: ${text}` : text);

type CommandFactory = (context: () => CommandContext) => Command;

/**
 * Every command, in the order help lists them, with the module that defines it. Only the module of the command being
 * run is loaded (each pulls in what it needs: DuckDB, the S3 client, the HTTP server…), every one of them for help
 * and unknown commands.
 */
const COMMANDS: [name: string, load: () => Promise<CommandFactory>][] = [
  ['db', async () => (await import('./db.js')).dbCommand],
  ['run', async () => (await import('./run.js')).runCommand],
  ['demo', async () => (await import('./demo.js')).demoCommand],
  ['status', async () => (await import('./status.js')).statusCommand],
  ['schedule', async () => (await import('./schedule.js')).scheduleCommand],
  ['reprocess', async () => (await import('./reprocess.js')).reprocessCommand],
  ['backfill', async () => (await import('./backfill.js')).backfillCommand],
  ['archive', async () => (await import('./archive.js')).archiveCommand],
  ['restore', async () => (await import('./restore.js')).restoreCommand],
  ['query', async () => (await import('./query.js')).queryCommand],
  ['verify', async () => (await import('./verify.js')).verifyCommand],
  ['advise', async () => (await import('./advise.js')).adviseCommand],
  ['serve', async () => (await import('./serve.js')).serveCommand],
];

/** The command argv names: the first argument after the global options, which take no value. */
const commandWord = (argv: string[]) => argv.slice(2).find((arg) => !arg.startsWith('-'));

export async function buildProgram(argv: string[] = []): Promise<Command> {
  const program = new Command('fxpipe')
    .description(
      'Keeps a PostgreSQL warehouse of currency exchange rates (star schema, partitioned history, read models kept up to date by every load).',
    )
    .version(fxpipeVersion)
    .option('--verbose', 'debug logs, and stack traces on errors')
    .option('-q, --quiet', 'only errors in the logs')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ writeErr });

  let ctx: CommandContext | undefined;
  const context = () => (ctx ??= createContext(program.opts()));
  const word = commandWord(argv);
  const chosen = COMMANDS.filter(([name]) => name === word);
  const factories = await Promise.all((chosen.length ? chosen : COMMANDS).map(([, load]) => load()));
  for (const factory of factories) program.addCommand(factory(context));

  for (const command of program.commands) exitOverrideDeep(command);
  return program;
}

function exitOverrideDeep(command: Command): void {
  command.exitOverride().configureOutput({ writeErr });
  for (const sub of command.commands) exitOverrideDeep(sub);
}

/** Runs the CLI; returns the exit code. Known errors print one line; stack traces only with --verbose. */
export async function main(argv: string[]): Promise<number> {
  const program = await buildProgram(argv);
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
