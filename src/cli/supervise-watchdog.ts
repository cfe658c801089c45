import { oneLine } from '../errors.js';
import type { CommandContext } from './context.js';

/**
 * In a long-running command on the embedded server (serve, schedule): keeps the server's reader watchdog alive while the
 * command runs. Nothing with DATABASE_URL (`fxpipe db watch-readers` is the user's service there). Returns stop.
 */
export async function superviseEmbeddedWatchdog(ctx: CommandContext): Promise<() => void> {
  if (ctx.config.databaseUrl) return () => undefined;
  // Loaded only for the embedded server, as connection.ts loads its modules.
  const { superviseWatchdog } = await import('../postgres/server/watchdog-supervisor.js');
  return superviseWatchdog(ctx.config.home, {
    onRestarted: (pid) => ctx.log.warn({ watchdogPid: pid }, "the embedded server's reader watchdog was not running: started it again"),
    onError: (error) => ctx.log.warn({ err: oneLine(error) }, "could not check or start the embedded server's reader watchdog"),
  });
}
