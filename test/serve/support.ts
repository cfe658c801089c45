import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { runDemo } from '../../src/demo/run-demo.js';
import { createLogger } from '../../src/log.js';
import type { Db } from '../../src/warehouse/db.js';
import { initWarehouse } from '../../src/warehouse/init.js';
import { finished, runCli, startCli, waitForOutput } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

export interface DailyRow {
  date: string;
  open: string;
  high: string;
  low: string;
  close: string;
  observations: number;
}

export interface ServedWarehouse {
  database: TestDatabase;
  db: Db;
  home: string;
  /** USD/EUR's and USD/JPY's daily rows as api.daily_rates gave them before any month was archived. */
  dailyBeforeArchive: Map<string, DailyRow[]>;
  /** The months archive moved to Parquet (YYYY-MM). */
  archivedMonths: string[];
  /** api.convert(250, 'GBP', 'JPY', at) before archiving, at a time in an archived month. */
  convertBeforeArchive: { at: string; rate: string; converted: string; asOf: string; fromSource: string; toSource: string };
}

const DAILY_SQL = `select to_char(date, 'YYYY-MM-DD') as date, open::text as open, high::text as high, low::text as low, close::text as close,
                          observations::int as observations
                     from api.daily_rates where base = 'USD' and quote = $1 and source = $2 order by date`;

/** 45 simulated days of demo runs ending now in a fresh database; then every month but the latest archived to Parquet. */
export async function servedWarehouse(dir: string): Promise<ServedWarehouse> {
  const database = await createTestDatabase();
  const db = await database.open();
  await initWarehouse(db);
  await runDemo(db, { days: 45, seed: 7, end: new Date(), log: createLogger('silent') });
  const dailyBeforeArchive = new Map<string, DailyRow[]>();
  for (const quote of ['EUR', 'JPY']) dailyBeforeArchive.set(quote, await db.query<DailyRow & Record<string, unknown>>(DAILY_SQL, [quote, 'open-er-api']));
  // 35 days ago is in an earlier month than today's, which `archive --older-than 1d` moves to Parquet.
  const at = new Date(Date.now() - 35 * 86_400_000).toISOString();
  const [before] = await db.query<{ rate: string; converted: string; as_of: Date; from_source: string; to_source: string }>(
    `select rate::text as rate, converted::text as converted, as_of, from_source, to_source from api.convert(250, 'GBP', 'JPY', $1::timestamptz)`, [at]);
  const convertBeforeArchive = { at, rate: before!.rate, converted: before!.converted, asOf: before!.as_of.toISOString(), fromSource: before!.from_source, toSource: before!.to_source };
  const home = mkdtempSync(path.join(dir, 'home-'));
  const archived = await runCli(['archive', '--older-than', '1d', '--json'], { env: { DATABASE_URL: database.url, FXPIPE_HOME: home, TMPDIR: home }, timeoutMs: 120_000 });
  expect(archived.stderr).toBe('');
  expect(archived.code).toBe(0);
  const months = await db.query<{ month: string }>(`select to_char(month, 'YYYY-MM') as month from archive_manifest where state = 'archived' order by month`);
  expect(months.length).toBeGreaterThan(0);
  return { database, db, home, dailyBeforeArchive, archivedMonths: months.map((m) => m.month), convertBeforeArchive };
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
