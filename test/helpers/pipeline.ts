import { createLogger } from '../../src/log.js';
import { runPipeline, type PipelineOptions, type RunResult } from '../../src/jobs/pipeline.js';
import { SourceBreakers } from '../../src/sources/breaker.js';
import { defaultHttpPolicy } from '../../src/sources/http.js';
import type { SourceName } from '../../src/sources/types.js';
import { createMarket } from '../../src/demo/market.js';
import { startProviderServer, type ProviderServer } from '../../src/demo/provider-server.js';
import type { Db, Driver, SessionDb } from '../../src/warehouse/db.js';
import { initWarehouse } from '../../src/warehouse/init.js';
import { createTestDatabase, type TestDatabase } from './database.js';

export const TEST_API_KEY = 'fxk-7b1e4c9a2d5f8e3b';

/** A simulated clock tests move by hand. */
export class TestClock {
  constructor(public current: Date) {}
  now = () => new Date(this.current);
  set(iso: string) {
    this.current = new Date(iso);
  }
  advanceHours(hours: number) {
    this.current = new Date(this.current.getTime() + hours * 3_600_000);
  }
}

export interface Harness {
  database: TestDatabase;
  db: SessionDb;
  server: ProviderServer;
  clock: TestClock;
  run(overrides?: Partial<PipelineOptions>): Promise<RunResult>;
  close(): Promise<void>;
}

/** A migrated database, a provider server on 127.0.0.1 on a simulated clock, and a way to run the pipeline. */
export async function harness(
  startIso = '2024-01-09T12:00:00Z',
  sources: SourceName[] = ['open-er-api', 'frankfurter'],
  driver: Driver = 'direct',
): Promise<Harness> {
  const database = await createTestDatabase();
  const db = await database.openAs(driver);
  await initWarehouse(db);
  // The simulated clock starts in 2024 while the database's now() is today: rates the runs load stay in force now.
  await db.query(`update fxpipe_settings set max_rate_age = interval '100 years'`);
  const clock = new TestClock(new Date(startIso));
  const market = createMarket({ seed: 7, start: new Date('2024-01-09T00:00:00Z') });
  const server = await startProviderServer({ market, clock: clock.now, apiKey: TEST_API_KEY });
  const log = createLogger('silent');
  const breakers = new SourceBreakers();
  return {
    database,
    db,
    server,
    clock,
    run: (overrides = {}) =>
      runPipeline(db, {
        kind: 'manual',
        sources,
        verify: true,
        dryRun: false,
        changeThresholdPct: 0.01,
        deviationTolerancePct: 0.5,
        zScoreThreshold: 4,
        lockWaitMs: 1000,
        http: { ...defaultHttpPolicy, retries: 2, minBackoffMs: 5, maxBackoffMs: 20, totalTimeoutMs: 2000, connectTimeoutMs: 1000 },
        settingsFor: (source) => ({ baseUrl: server.baseUrls[source], apiKey: TEST_API_KEY }),
        breakers,
        clock: clock.now,
        log,
        ...overrides,
      }),
    async close() {
      await server.close();
      await database.drop();
    },
  };
}

export async function count(db: Db, sql: string, params: unknown[] = []): Promise<number> {
  const [row] = await db.query<{ n: number }>(`select count(*)::int as n from (${sql}) t`, params);
  return row?.n ?? 0;
}

/**
 * One manual run of one source, as `fxpipe run --source` makes it with every observation kept (no change threshold),
 * no verification and no retries: how tests load a provider's file served as is (settings: where, and the key).
 */
export function manualRun(
  db: SessionDb,
  source: SourceName,
  settings: { baseUrl: string; apiKey?: string },
  clock: () => Date,
): Promise<RunResult> {
  return runPipeline(db, {
    kind: 'manual',
    sources: [source],
    verify: false,
    dryRun: false,
    changeThresholdPct: 0,
    deviationTolerancePct: 0.5,
    zScoreThreshold: 4,
    lockWaitMs: 5000,
    http: { ...defaultHttpPolicy, retries: 0 },
    settingsFor: () => settings,
    clock,
    log: createLogger('silent'),
  });
}
