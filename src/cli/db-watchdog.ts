import { Command } from 'commander';
import { usageError } from '../errors.js';
import { createLogger } from '../log.js';
import { openDb } from '../warehouse/connection.js';
import { databaseTarget } from '../warehouse/databases.js';
import { checkWatchdogRole, watchReaders, type Stopped } from '../postgres/readers/reader-watchdog.js';
import { parseTimeout } from '../postgres/readers/reader-limits.js';
import { closeDatabasesToPublic } from '../postgres/readers/close-databases.js';
import { backendMemoryKb } from '../postgres/server/backend-memory.js';
import { embeddedPaths, readRunning, runningConnection } from '../postgres/server/embedded.js';
import { claimWatchdog, releaseWatchdog, stillWatchdog } from '../postgres/server/watchdog.js';
import type { CommandContext } from './context.js';

type MakeContext = () => CommandContext;

const STOPPED_MESSAGE: Record<Stopped['reason'], string> = {
  'statement timeout': "reader query cancelled: it ran past the reader's statement timeout",
  'idle in transaction': "reader session ended: idle in a transaction past the reader's limit",
  memory: "reader session ended: it held more memory than the reader's memory limit",
};

export function watchReadersCommand(context: MakeContext): Command {
  return new Command('watch-readers')
    .description(
      "enforce reader roles' query and idle-transaction limits on the whole server, whatever a reader sets in its session (the embedded server runs one by itself, which also ends reader sessions past their memory limit); until Ctrl-C",
    )
    .option('--interval <duration>', 'how often to look, e.g. 1s, 500ms', '1s')
    .option('--embedded', "run as the embedded server's own watchdog: detached, one per server, ending with it (fxpipe starts it)")
    .action(async (options: { interval: string; embedded?: boolean }) => {
      const ctx = context();
      const intervalMs = parseTimeout(options.interval, '--interval');
      // The embedded watchdog's log file is all it says: it keeps its findings whatever FXPIPE_LOG_LEVEL the starting command had.
      const log = options.embedded ? createLogger('info', { watchdog: true }) : ctx.log;
      const onStopped = (stopped: Stopped) =>
        log.warn(
          {
            role: stopped.role,
            database: stopped.database,
            backendPid: stopped.pid,
            action: stopped.action,
            reason: stopped.reason,
            ...(stopped.memoryKb === undefined
              ? { seconds: Math.round(stopped.seconds * 10) / 10 }
              : { memoryMb: Math.round(stopped.memoryKb / 1024) }),
          },
          STOPPED_MESSAGE[stopped.reason],
        );
      const onError = (error: unknown) => log.debug({ err: error }, 'watchdog sweep failed; reconnecting');
      if (options.embedded) {
        await watchEmbedded(ctx, intervalMs, onStopped, onError);
        return;
      }
      const target = await ctx.target();
      const open = () => openDb(target, { applicationName: 'fxpipe watchdog' });
      const db = await open();
      try {
        await checkWatchdogRole(db);
      } finally {
        await db.close();
      }
      let stopping = false;
      const stop = () => {
        stopping = true;
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      console.log(
        `Watching reader roles on ${target.label} every ${options.interval}: a query past the reader's statement timeout is cancelled, a transaction idle past its limit ended. Ctrl-C stops.`,
      );
      await watchReaders(open, { intervalMs, keepGoing: () => !stopping, onStopped, onError });
    });
}

/**
 * The embedded server's watchdog: one per server (a pid file), connected to its postgres database, gone once the server is.
 * Beside the server, it also measures reader sessions' memory (/proc), and closes to PUBLIC every database of the server
 * each time it connects (a server start): a database made since is open to every role, readers included.
 */
async function watchEmbedded(
  ctx: CommandContext,
  intervalMs: number,
  onStopped: (s: Stopped) => void,
  onError: (e: unknown) => void,
): Promise<void> {
  const home = ctx.config.home;
  if (ctx.config.databaseUrl) throw usageError('--embedded watches the embedded server: DATABASE_URL is set');
  if (!(await claimWatchdog(home))) return;
  let serverMissing = 0;
  let postmasterPid: number | undefined;
  try {
    await watchReaders(
      async () => {
        const connection = await runningConnection(home);
        if (!connection) throw new Error('the embedded server is not running');
        const target = { url: connection.url, label: 'embedded server', embedded: true, tls: connection.tls };
        const db = await openDb(databaseTarget(target, 'postgres'), { applicationName: 'fxpipe watchdog' });
        try {
          await closeDatabasesToPublic(db);
        } catch (error) {
          await db.close().catch(() => undefined);
          throw error;
        }
        return db;
      },
      {
        intervalMs,
        memoryOf: async (pid) => (postmasterPid === undefined ? null : backendMemoryKb(pid, postmasterPid)),
        // A restart (`db start --listen`) leaves no server for a moment: only two looks in a row without one end the watch.
        keepGoing: async () => {
          const running = await readRunning(embeddedPaths(home).dataDir);
          postmasterPid = running?.pid;
          serverMissing = running ? 0 : serverMissing + 1;
          return serverMissing < 2 && (await stillWatchdog(home));
        },
        onStopped,
        onError,
      },
    );
  } finally {
    await releaseWatchdog(home);
  }
}
