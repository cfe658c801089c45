import cliProgress from 'cli-progress';

export interface ProgressBar<P> {
  update: (progress: P) => void;
  stop: () => void;
}

/** Whether long work shows a bar: only on a terminal, never under --json or in CI. */
export function wantsProgress(json: boolean | undefined): boolean {
  return !json && process.stderr.isTTY === true && !process.env.CI;
}

/**
 * A progress bar on stderr for long work (backfill, archive, demo); null when not wanted. `view` turns the
 * job's own progress report into the bar's position, total and the named fields its format shows.
 */
export function progressBar<P>(
  enabled: boolean,
  format: string,
  view: (progress: P) => { done: number; total: number; fields: Record<string, string | number> },
): ProgressBar<P> | null {
  if (!enabled) return null;
  const bar = new cliProgress.SingleBar({ format, stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic);
  let started = false;
  return {
    update: (progress) => {
      const { done, total, fields } = view(progress);
      if (!started) bar.start(total, done, fields);
      else bar.update(done, fields);
      started = true;
    },
    stop: () => bar.stop(),
  };
}
