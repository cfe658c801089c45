import { embeddedPaths, readRunning } from './embedded.js';
import { ensureWatchdog, runningWatchdog } from './watchdog.js';

export interface SuperviseOptions {
  /** How often to look (default 2 s). */
  intervalMs?: number;
  /** The watchdog was gone while the server ran, and was started again (its new pid). */
  onRestarted?: (pid: number | null) => void;
  onError?: (error: unknown) => void;
}

/**
 * Keeps the reader watchdog of the embedded server under home alive for as long as a long-running fxpipe process
 * (serve, schedule, db start) runs: every interval, a server that is up without a live watchdog gets one again, so a
 * killed watchdog leaves readers' lifted timeouts unenforced for seconds, not until the next command. Returns stop.
 * The timer does not keep the process alive.
 */
export function superviseWatchdog(home: string, options: SuperviseOptions = {}): () => void {
  let looking = false;
  const look = async () => {
    if ((await runningWatchdog(home)) !== null) return;
    if ((await readRunning(embeddedPaths(home).dataDir))?.status !== 'ready') return;
    await ensureWatchdog(home);
    options.onRestarted?.(await runningWatchdog(home));
  };
  const timer = setInterval(() => {
    if (looking) return;
    looking = true;
    look()
      .catch((error: unknown) => options.onError?.(error))
      .finally(() => {
        looking = false;
      });
  }, options.intervalMs ?? 2000);
  timer.unref();
  return () => clearInterval(timer);
}
