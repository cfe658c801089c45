import CircuitBreaker from 'opossum';
import { SourceError } from './errors.js';
import type { Extraction, SourceName } from './types.js';

export interface BreakerOptions {
  /** Extractions within the window before the circuit may open. */
  volumeThreshold: number;
  /** The circuit opens when more than this share (%) of the window's extractions failed. */
  errorThresholdPercentage: number;
  /** How long the failures are remembered. */
  windowMs: number;
  /** How long an open circuit fails fast before letting one extraction through to test the source. */
  resetTimeoutMs: number;
}

/**
 * opossum's model: the circuit opens once the last hour holds at least 3 extractions of which more
 * than half failed (so a fresh source opens after 3 failures in a row); an open circuit lets one
 * extraction through after 5 minutes, which closes it again when it succeeds.
 */
export const defaultBreakerOptions: BreakerOptions = {
  volumeThreshold: 3,
  errorThresholdPercentage: 50,
  windowMs: 60 * 60_000,
  resetTimeoutMs: 5 * 60_000,
};

type Run = () => Promise<Extraction>;

/** One opossum circuit breaker per source, shared by every extraction that goes through this registry. */
export class SourceBreakers {
  private readonly breakers = new Map<SourceName, { breaker: CircuitBreaker<[Run], Extraction>; openedAt: number }>();

  constructor(private readonly options: BreakerOptions = defaultBreakerOptions) {}

  /** Runs an extraction through the source's breaker; fails fast with SourceError 'circuit-open' while it is open. */
  async run(source: SourceName, extraction: Run): Promise<Extraction> {
    const entry = this.entry(source);
    try {
      return await entry.breaker.fire(extraction);
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'EOPENBREAKER') throw error;
      const retryAt = new Date(entry.openedAt + this.options.resetTimeoutMs).toISOString().slice(11, 19);
      throw new SourceError(
        source,
        `circuit open after ${entry.breaker.stats.failures} failures; retrying after ${retryAt} UTC`,
        'circuit-open',
      );
    }
  }

  /** Forgets every breaker and its history. */
  reset(): void {
    for (const { breaker } of this.breakers.values()) breaker.shutdown();
    this.breakers.clear();
  }

  private entry(source: SourceName) {
    let entry = this.breakers.get(source);
    if (!entry) {
      const breaker = new CircuitBreaker<[Run], Extraction>((run) => run(), {
        name: source,
        // The HTTP policy owns timeouts.
        timeout: false,
        volumeThreshold: this.options.volumeThreshold,
        errorThresholdPercentage: this.options.errorThresholdPercentage,
        rollingCountTimeout: this.options.windowMs,
        rollingCountBuckets: 10,
        resetTimeout: this.options.resetTimeoutMs,
        enableSnapshots: false,
      });
      const created = { breaker, openedAt: 0 };
      breaker.on('open', () => {
        created.openedAt = Date.now();
      });
      this.breakers.set(source, created);
      entry = created;
    }
    return entry;
  }
}
