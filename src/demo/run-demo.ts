import type { Logger } from '../log.js';
import { runPipeline, type RunResult } from '../jobs/pipeline.js';
import { defaultBreakerOptions, SourceBreakers } from '../sources/breaker.js';
import { defaultHttpPolicy } from '../sources/http.js';
import type { SourceName } from '../sources/types.js';
import type { SessionDb } from '../warehouse/db.js';
import { createMarket } from './market.js';
import { faults, startProviderServer } from './provider-server.js';

export const DEMO_SOURCES: SourceName[] = ['open-er-api', 'frankfurter', 'ecb'];
const SLOT_HOURS = 4;

export interface DemoOptions {
  days: number;
  seed: number;
  /** The simulated runs end at the last 4-hour slot before this. */
  end: Date;
  /** Called after each run, for a progress bar. */
  onProgress?: (progress: DemoProgress) => void;
  log: Logger;
}

export interface DemoProgress {
  runsDone: number;
  runsTotal: number;
  /** The simulated slot just run, e.g. 2026-11-23 04h. */
  slot: string;
  status: string;
}

export interface DemoSummary {
  days: number;
  runs: number;
  byStatus: Record<string, number>;
  failoverRuns: number;
  /** Values the runs offered the history (every delivering source), and how many the change rule stored. */
  observations: { offered: number; stored: number };
  outage: { from: string; runs: number };
  corruptedAt: string;
  firstRun: string;
  lastRun: string;
  elapsedMs: number;
}

/**
 * Runs the real pipeline against providers simulated on 127.0.0.1, on a simulated clock: one run every
 * 4 hours over `days`, with a primary outage two-fifths of the way in that fails over, and a day whose
 * payload carries invalid values.
 */
export async function runDemo(db: SessionDb, options: DemoOptions): Promise<DemoSummary> {
  const started = performance.now();
  const last = new Date(Math.floor(options.end.getTime() / (SLOT_HOURS * 3_600_000)) * SLOT_HOURS * 3_600_000);
  const slots = options.days * (24 / SLOT_HOURS);
  const first = new Date(last.getTime() - (slots - 1) * SLOT_HOURS * 3_600_000);
  let now = first;
  const market = createMarket({ seed: options.seed, start: new Date(first.getTime() - 86_400_000) });
  const server = await startProviderServer({ market, clock: () => now });
  const outageStart = Math.floor(slots * 0.4);
  const outageRuns = 3;
  // One day the primary publishes two invalid values, which validation quarantines.
  const corruptSlot = Math.floor((slots * 0.7) / 6) * 6 + 1;
  // Simulated hours pass in real milliseconds: a breaker resetting after 5 real minutes would stay open for
  // simulated weeks. Runs are 4 hours apart, far beyond any reset time, so each run may try every source.
  const breakers = new SourceBreakers({ ...defaultBreakerOptions, resetTimeoutMs: 1 });
  const byStatus: Record<string, number> = {};
  let failoverRuns = 0;
  let offered = 0;
  let stored = 0;
  try {
    for (let slot = 0; slot < slots; slot++) {
      const slotStart = new Date(first.getTime() + slot * SLOT_HOURS * 3_600_000);
      now = new Date(slotStart.getTime() + 60_000);
      if (slot === outageStart) server.injectFault('open-er-api', faults.outage(), Infinity);
      if (slot === outageStart + outageRuns) server.clearFaults();
      if (slot === corruptSlot) {
        const published = await (await fetch(`${server.baseUrls['open-er-api']}/v6/latest/USD`)).text();
        server.injectFault('open-er-api', faults.body(published.replace('"rates":{', '"rates":{"XXX":0,"Z1":1.5,')));
      }
      const result: RunResult = await runPipeline(db, {
        kind: 'demo',
        sources: DEMO_SOURCES,
        verify: true,
        dryRun: false,
        changeThresholdPct: 0,
        deviationTolerancePct: 0.5,
        zScoreThreshold: 4,
        lockWaitMs: 5000,
        http: { ...defaultHttpPolicy, retries: 2, minBackoffMs: 5, maxBackoffMs: 20 },
        settingsFor: (source) => ({ baseUrl: server.baseUrls[source] }),
        breakers,
        clock: () => now,
        log: options.log,
      });
      byStatus[result.status] = (byStatus[result.status] ?? 0) + 1;
      if (result.failover) failoverRuns++;
      for (const s of result.sources.filter((o) => o.status === 'ok')) {
        offered += s.loaded + s.unchanged;
        stored += s.loaded;
      }
      options.onProgress?.({
        runsDone: slot + 1,
        runsTotal: slots,
        slot: `${slotStart.toISOString().slice(0, 13).replace('T', ' ')}h`,
        status: result.status,
      });
    }
  } finally {
    await server.close();
  }
  return {
    days: options.days,
    runs: slots,
    byStatus,
    failoverRuns,
    observations: { offered, stored },
    outage: { from: new Date(first.getTime() + outageStart * SLOT_HOURS * 3_600_000).toISOString(), runs: outageRuns },
    corruptedAt: new Date(first.getTime() + corruptSlot * SLOT_HOURS * 3_600_000).toISOString(),
    firstRun: first.toISOString(),
    lastRun: last.toISOString(),
    elapsedMs: Math.round(performance.now() - started),
  };
}
