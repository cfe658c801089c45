import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { createMarket } from '../../src/demo/market.js';
import { faults, startProviderServer } from '../../src/demo/provider-server.js';
import { renderExchangerateApiLatest } from '../../src/demo/providers/exchangerate-api.js';
import { runDemo } from '../../src/demo/run-demo.js';
import { createLogger } from '../../src/log.js';
import type { SessionDb } from '../../src/warehouse/db.js';
import { initWarehouse } from '../../src/warehouse/init.js';
import { finished, runCli, startCli, waitForOutput } from '../helpers/cli.js';
import type { TestDatabase } from '../helpers/database.js';
import { loadedOnce } from '../helpers/loaded-once.js';
import { manualRun } from '../helpers/pipeline.js';

export interface DailyRow {
  date: string;
  open: string;
  high: string;
  low: string;
  close: string;
  observations: number;
  carried: boolean;
}

export interface ServedWarehouse {
  database: TestDatabase;
  db: SessionDb;
  home: string;
  /** USD/EUR's and USD/JPY's daily rows as api.daily_rates gave them before any month was archived. */
  dailyBeforeArchive: Map<string, DailyRow[]>;
  /** The months archive moved to Parquet (YYYY-MM). */
  archivedMonths: string[];
  /**
   * api.convert(250, 'GBP', 'JPY', at) before archiving, at times in an archived month: `daily` from open-er-api's only
   * publication of the day before (a daily row's close holds its value), `intraday` from exchangerate-api's first of
   * two publications that day (only the archived history holds its value).
   */
  convertBeforeArchive: Record<'daily' | 'intraday', Conversion>;
  /** The demo's runs: its seed's market and its last run's time say what each provider published last. */
  demo: { seed: number; firstRun: string; lastRun: string };
}

export interface Conversion {
  at: string;
  rate: string;
  converted: string;
  asOf: string;
  fromSource: string;
  toSource: string;
}

const DAILY_SQL = `select to_char(date, 'YYYY-MM-DD') as date, open::text as open, high::text as high, low::text as low, close::text as close,
                          observations::int as observations, carried
                     from api.daily_rates where base = 'USD' and quote = $1 and source = $2 order by date`;

/**
 * 45 simulated days of demo runs ending now in a fresh database, plus two publications of exchangerate-api on the day
 * 35 days ago; then every month but the latest archived to Parquet.
 */
export async function servedWarehouse(dir: string): Promise<ServedWarehouse> {
  // 35 days ago is in an earlier month than today's, which `archive --older-than 1d` moves to Parquet.
  const dayOf = () => new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000 - 35 * 86_400_000);
  // The demo's runs end at the 4-hour slot it ran in: the load is kept for files run in the same slot (loaded-once.ts).
  const slot = Math.floor(Date.now() / (4 * 3_600_000));
  const { database, built: demo } = await loadedOnce(`served_${slot}`, async (building) => {
    const db = await building.open();
    await initWarehouse(db);
    const run = await runDemo(db, { days: 45, seed: 7, end: new Date(), log: createLogger('silent') });
    await publishTwiceOn(db, dayOf());
    return { firstRun: run.firstRun, lastRun: run.lastRun };
  });
  const db = await database.open();
  await initWarehouse(db);
  const day = dayOf();
  const dailyBeforeArchive = new Map<string, DailyRow[]>();
  for (const quote of ['EUR', 'JPY'])
    dailyBeforeArchive.set(quote, await db.query<DailyRow & Record<string, unknown>>(DAILY_SQL, [quote, 'open-er-api']));
  const convertAt = async (at: string): Promise<Conversion> => {
    const [row] = await db.query<{ rate: string; converted: string; as_of: Date; from_source: string; to_source: string }>(
      `select rate::text as rate, converted::text as converted, as_of, from_source, to_source from api.convert(250, 'GBP', 'JPY', $1::timestamptz)`,
      [at],
    );
    return {
      at,
      rate: row!.rate,
      converted: row!.converted,
      asOf: row!.as_of.toISOString(),
      fromSource: row!.from_source,
      toSource: row!.to_source,
    };
  };
  const convertBeforeArchive = {
    daily: await convertAt(new Date(day.getTime() - 6 * 3_600_000).toISOString()),
    intraday: await convertAt(new Date(day.getTime() + 6 * 3_600_000).toISOString()),
  };
  const home = mkdtempSync(path.join(dir, 'home-'));
  const archived = await runCli(['archive', '--older-than', '1d', '--json'], {
    env: { DATABASE_URL: database.url, FXPIPE_HOME: home, TMPDIR: home },
    timeoutMs: 120_000,
  });
  expect(archived.stderr).toBe('');
  expect(archived.code).toBe(0);
  const months = await db.query<{ month: string }>(
    `select to_char(month, 'YYYY-MM') as month from archive_manifest where state = 'archived' order by month`,
  );
  expect(months.length).toBeGreaterThan(0);
  return {
    database,
    db,
    home,
    dailyBeforeArchive,
    archivedMonths: months.map((m) => m.month),
    convertBeforeArchive,
    demo: { seed: 7, firstRun: demo.firstRun, lastRun: demo.lastRun },
  };
}

/**
 * Two runs of exchangerate-api (which the demo does not use; it becomes a primary source too, ranked before
 * open-er-api by name) on `day` (UTC): its publication of the day, then one at noon with the next simulated day's
 * values, every value changed. Both stay the last of that source, so they are loaded in order.
 */
async function publishTwiceOn(db: SessionDb, day: Date): Promise<void> {
  let now = new Date(day.getTime() + 30 * 60_000);
  const noon = new Date(day.getTime() + 12 * 3_600_000);
  const market = createMarket({ seed: 11, start: new Date(day.getTime() - 2 * 86_400_000) });
  const server = await startProviderServer({ market, clock: () => now });
  const run = () =>
    manualRun(db, 'exchangerate-api', { baseUrl: server.baseUrls['exchangerate-api'], apiKey: 'fxk-0000-serve-test' }, () => now);
  try {
    expect(await run()).toMatchObject({ status: 'loaded', asOf: new Date(day.getTime() + 1000).toISOString() });
    const next = new Date(day.getTime() + 86_400_000).toISOString().slice(0, 10);
    const atNoon = renderExchangerateApiLatest(next, market.usdRates(next)).replace(
      /"time_last_update_unix":\d+/,
      `"time_last_update_unix":${noon.getTime() / 1000}`,
    );
    server.injectFault('exchangerate-api', faults.body(atNoon));
    now = new Date(noon.getTime() + 60_000);
    const second = await run();
    expect(second).toMatchObject({ status: 'loaded', asOf: noon.toISOString() });
    expect(second.counts.loaded).toBeGreaterThan(100);
  } finally {
    await server.close();
  }
}

export interface Served {
  url: string;
  stdout(): string;
  stderr(): string;
  stop(): Promise<void>;
}

/** `fxpipe serve --port 0` against the database, as a user starts it; stop() sends SIGTERM and waits for exit 0. */
export async function startServe(database: TestDatabase, home: string, env: Record<string, string> = {}): Promise<Served> {
  const child = startCli(['serve', '--port', '0'], { env: { DATABASE_URL: database.url, FXPIPE_HOME: home, ...env } });
  await waitForOutput(child, /http:\/\/127\.0\.0\.1:\d+\//, 60_000).catch((error) => {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}\nstderr: ${child.out.stderr}`);
  });
  const url = /http:\/\/127\.0\.0\.1:\d+/.exec(child.out.stdout)![0];
  return {
    url,
    stdout: () => child.out.stdout,
    stderr: () => child.out.stderr,
    async stop() {
      child.kill('SIGTERM');
      const result = await finished(child, 30_000);
      expect(result.code).toBe(0);
    },
  };
}
