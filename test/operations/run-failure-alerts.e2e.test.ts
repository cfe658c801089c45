import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMarket } from '../../src/demo/market.js';
import { startProviderServer, type ProviderServer } from '../../src/demo/provider-server.js';
import { initWarehouse } from '../../src/warehouse/init.js';
import { finished, startCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { pauseRunsAfterHistoryInsert } from '../helpers/pause-runs.js';
import { TEST_API_KEY } from '../helpers/pipeline.js';
import { startReceiver, type Receiver } from '../helpers/webhook-receiver.js';

interface RunFailedBody {
  kind: string;
  runId: string;
  message: string;
  details: { runKind: string; error: string; sources: unknown[] };
}

/**
 * Issue 26: a run the database fails tells someone. Its connection is terminated mid-run (the server's own
 * "terminating connection due to administrator command"); run_failed reaches a real webhook receiver, once, and
 * alert_log records it; `run --json` still prints the run's record.
 */
describe('a run the database fails raises run_failed', () => {
  let database: TestDatabase;
  let server: ProviderServer;
  let receiver: Receiver;
  let watcher: pg.Client;
  let env: Record<string, string>;

  beforeEach(async () => {
    database = await createTestDatabase();
    await initWarehouse(await database.open());
    const market = createMarket({ seed: 5, start: new Date('2026-01-01T00:00:00Z') });
    server = await startProviderServer({ market, clock: () => new Date(), apiKey: TEST_API_KEY });
    receiver = await startReceiver();
    watcher = new pg.Client({ connectionString: database.url });
    await watcher.connect();
    env = {
      ...server.env,
      DATABASE_URL: database.url,
      FXPIPE_HTTP_RETRIES: '1',
      FXPIPE_WEBHOOK_URL: `${receiver.origin}/hook`,
      FXPIPE_WEBHOOK_TIMEOUT_MS: '2000',
    };
  });
  afterEach(async () => {
    await watcher.end().catch(() => undefined);
    await receiver.close();
    await server.close();
    await database.drop();
  });

  const runFailed = () => receiver.received.map((r) => r.body as RunFailedBody).filter((body) => body.kind === 'run_failed');
  const row = async (table: string, runId: string, columns: string) =>
    (await watcher.query<Record<string, unknown>>(`select ${columns} from ${table} where run_id = $1`, [runId])).rows;

  /** Holds the next run at its history insert, then terminates its connection there. */
  async function terminateTheRunMidway(): Promise<void> {
    const pause = await pauseRunsAfterHistoryInsert(database.url);
    const backend = await pause.waitUntilPaused();
    await watcher.query('select pg_terminate_backend($1)', [backend]);
    await pause.release();
  }

  it("fxpipe run --json: exit 1, the database's message on stderr and in the record printed; run_failed sent, recorded", async () => {
    const running = startCli(['run', '--json'], { env });
    await terminateTheRunMidway();
    const result = await finished(running);
    expect(result.code, result.stderr).toBe(1);
    const error = 'database error: terminating connection due to administrator command';
    expect(result.stdout, result.stderr).not.toBe('');
    const record = JSON.parse(result.stdout) as { runId: string; status: string; error: string; alerts: unknown[] };
    expect(record).toMatchObject({
      kind: 'manual',
      status: 'failed',
      sourceUsed: null,
      error,
      alerts: [{ kind: 'run_failed', delivered: true, attempts: 1 }],
    });
    expect(result.stderr).toBe(`fxpipe: run ${record.runId} failed: ${error}\n`);

    expect(runFailed()).toEqual([
      expect.objectContaining({
        runId: record.runId,
        message: `fxpipe run ${record.runId} failed: ${error}`,
        details: { runKind: 'manual', error, sources: [] },
      }),
    ]);
    // Recorded on a new connection, the run's own being gone: the alert and the failed run.
    expect(await row('alert_log', record.runId, 'kind, delivered')).toEqual([{ kind: 'run_failed', delivered: true }]);
    expect(await row('pipeline_runs', record.runId, 'status, error')).toEqual([{ status: 'failed', error }]);
  });

  it.each(['direct', 'pooled'])('fxpipe schedule (%s): run_failed once for the run, recorded with it and its slot', async (driver) => {
    // A yearly cron: the catch-up run starts at once, and no other slot comes.
    const scheduler = startCli(['schedule', '--cron', '0 0 1 1 *'], { env: { ...env, FXPIPE_DRIVER: driver } });
    try {
      await terminateTheRunMidway();
      for (let i = 0; i < 100 && runFailed().length === 0; i++) await sleep(100);
      const [alert] = runFailed();
      expect(alert, scheduler.out.stderr).toBeDefined();
      const error = 'database unreachable: terminating connection due to administrator command (57P01)';
      expect(alert).toMatchObject({
        message: `fxpipe run ${alert!.runId} failed: ${error}`,
        details: { runKind: 'scheduled', error, sources: [] },
      });

      let logged: unknown[] = [];
      for (let i = 0; i < 100 && logged.length === 0; i++, await sleep(100)) {
        logged = await row('alert_log', alert!.runId, 'kind, delivered');
      }
      expect(logged).toEqual([{ kind: 'run_failed', delivered: true }]);
      expect(await row('pipeline_runs', alert!.runId, 'kind, status, error')).toEqual([{ kind: 'scheduled', status: 'failed', error }]);
      expect(await row('scheduler_slots', alert!.runId, 'status')).toEqual([{ status: 'failed' }]);
      await sleep(500);
      expect(runFailed()).toHaveLength(1);

      scheduler.kill('SIGTERM');
      const result = await finished(scheduler);
      expect(result.code).toBe(0);
    } finally {
      scheduler.kill('SIGKILL');
    }
  });
});
