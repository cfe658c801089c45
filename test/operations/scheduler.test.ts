import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMarket } from '../../src/demo/market.js';
import { startProviderServer, type ProviderServer } from '../../src/demo/provider-server.js';
import { createLogger } from '../../src/log.js';
import { Scheduler } from '../../src/scheduler.js';
import type { Db } from '../../src/warehouse/db.js';
import { initWarehouse } from '../../src/warehouse/init.js';
import { recentRuns } from '../../src/warehouse/status.js';
import { finished, startCli, waitForOutput } from '../helpers/cli.js';
import { pauseRunsAfterHistoryInsert } from '../helpers/pause-runs.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

describe('fxpipe schedule', () => {
  let database: TestDatabase;
  let server: ProviderServer;
  let env: Record<string, string>;
  let client: pg.Client;

  beforeEach(async () => {
    database = await createTestDatabase();
    await initWarehouse(await database.open());
    server = await startProviderServer({ market: createMarket({ seed: 5, start: new Date('2026-06-01T00:00:00Z') }), clock: () => new Date() });
    env = { ...server.env, DATABASE_URL: database.url, FXPIPE_HTTP_RETRIES: '0', FXPIPE_LOG_LEVEL: 'warn' };
    client = new pg.Client({ connectionString: database.url });
    await client.connect();
  });
  afterEach(async () => {
    await client.end();
    await server.close();
    await database.drop();
  });

  const rows = async <T extends pg.QueryResultRow>(sql: string) => (await client.query<T>(sql)).rows;

  it('two schedulers at once run each slot exactly once, and stop cleanly on SIGTERM', async () => {
    const a = startCli(['schedule', '--cron', '*/2 * * * * *'], { env });
    const b = startCli(['schedule', '--cron', '*/2 * * * * *'], { env });
    await Promise.all([waitForOutput(a, 'Scheduler '), waitForOutput(b, 'Scheduler ')]);
    await sleep(7000);
    a.kill('SIGTERM');
    b.kill('SIGTERM');
    const [ra, rb] = await Promise.all([finished(a), finished(b)]);
    expect([ra.code, rb.code]).toEqual([0, 0]);
    expect(ra.stdout).toContain('Scheduler stopped.');
    const slots = await rows<{ slot_at: Date; run_id: string | null; claimed_by: string }>('select slot_at, run_id, claimed_by from scheduler_slots order by slot_at');
    const runs = await rows<{ run_id: string; kind: string }>(`select run_id, kind from pipeline_runs`);
    expect(slots.length).toBeGreaterThanOrEqual(3);
    expect(runs.every((r) => r.kind === 'scheduled')).toBe(true);
    // Every run belongs to exactly one slot and no slot ran twice.
    const finishedSlots = slots.filter((s) => s.run_id);
    expect(new Set(finishedSlots.map((s) => s.run_id)).size).toBe(finishedSlots.length);
    expect(runs.length).toBe(finishedSlots.length);
    // Which scheduler claims a slot is a race: one may win them all. Each slot still ran once.
    expect(slots.every((s) => s.run_id !== null)).toBe(true);
    expect(await rows('select * from scheduler_instances')).toEqual([]);
  }, 30_000);

  it('stop() waits for a heartbeat in flight, so the instance row it deletes stays deleted', async () => {
    const db = await database.open();
    let slowBeats = false;
    // Holds every heartbeat insert for 400 ms once slowBeats is set: stop() comes while one is in flight.
    const slowed: Db = {
      ...db,
      query: async (text, params) => {
        if (slowBeats && text.includes('insert into scheduler_instances')) await sleep(400);
        return db.query(text, params);
      },
    };
    const scheduler = new Scheduler({
      cron: '0 0 1 1 *',
      timezone: 'UTC',
      heartbeatMs: 20,
      log: createLogger('silent'),
      withDb: (fn) => fn(slowed),
      runSlot: async () => ({ runId: null, status: 'failed' }),
      recordMissedSlot: async () => ({ runId: null, status: 'failed' }),
    });
    await scheduler.start();
    slowBeats = true;
    await sleep(60);
    await scheduler.stop();
    await sleep(600);
    expect(await rows('select * from scheduler_instances')).toEqual([]);
  });

  it('after downtime it catches up once (one run for the missed slots), then waits for the next slot', async () => {
    await client.query(`insert into scheduler_slots (slot_at, claimed_by, run_id, status) values (now() - interval '3 days', gen_random_uuid(), null, 'loaded')`);
    const scheduler = startCli(['schedule', '--cron', '0 */4 * * *'], { env });
    await waitForOutput(scheduler, 'Scheduler ');
    const slots = await rows<{ slot_at: Date; catch_up: boolean; status: string }>('select slot_at, catch_up, status from scheduler_slots order by slot_at');
    expect(slots).toHaveLength(2);
    expect(slots[1]).toMatchObject({ catch_up: true, status: 'loaded' });
    expect(slots[1]!.slot_at.getUTCHours() % 4).toBe(0);
    expect(await rows(`select * from pipeline_runs`)).toHaveLength(1);
    const [live] = await rows<{ next_run_at: Date }>('select next_run_at from scheduler_instances');
    expect(live!.next_run_at.getTime()).toBeGreaterThan(Date.now());
    scheduler.kill('SIGINT');
    expect((await finished(scheduler)).code).toBe(0);
  });

  describe('SIGTERM during a run', () => {
    it('lets the run in progress finish, then exits 0: the run is whole', async () => {
      const pause = await pauseRunsAfterHistoryInsert(database.url);
      const scheduler = startCli(['schedule', '--cron', '0 0 1 1 *'], { env });
      await pause.waitUntilPaused();
      scheduler.kill('SIGTERM');
      await sleep(500);
      expect(scheduler.exitCode).toBeNull(); // still waiting for its run
      await pause.release();
      const result = await finished(scheduler);
      expect(result.code).toBe(0);
      const [run] = await rows<{ status: string; finished_at: Date | null }>('select status, finished_at from pipeline_runs');
      expect(run).toMatchObject({ status: 'loaded', finished_at: expect.any(Date) });
      expect(await rows(`select * from fact_rates_history`)).not.toHaveLength(0);
    });

    it('a second signal aborts: the load rolls back and leaves nothing half-written; the run shows as interrupted', async () => {
      const pause = await pauseRunsAfterHistoryInsert(database.url);
      const scheduler = startCli(['schedule', '--cron', '0 0 1 1 *'], { env });
      await pause.waitUntilPaused();
      scheduler.kill('SIGTERM');
      await sleep(200);
      scheduler.kill('SIGTERM');
      const result = await finished(scheduler);
      expect(result.code).toBe(130);
      await pause.release();
      for (let i = 0; i < 100; i++) {
        if ((await rows(`select 1 from pg_stat_activity where datname = current_database() and application_name = 'fxpipe'`)).length === 0) break;
        await sleep(50);
      }
      for (const table of ['fact_rates_history', 'fact_rates_current']) {
        expect(await rows(`select * from ${table}`), table).toEqual([]);
      }
      // The responses received are kept (extract, then load), and status tells the run died.
      expect(await rows(`select * from bronze_extraction`)).not.toHaveLength(0);
      const db = await database.open();
      expect((await recentRuns(db, 10)).map((r) => r.status)).toEqual(['interrupted']);
    });
  });

  it('rejects a bad --cron or --timezone with exit 2', async () => {
    const bad = await finished(startCli(['schedule', '--cron', 'every day'], { env }));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^fxpipe: invalid --cron "every day": /);
    const zone = await finished(startCli(['schedule', '--timezone', 'Mars/Olympus'], { env }));
    expect(zone.code).toBe(2);
    expect(zone.stderr).toBe('fxpipe: invalid --timezone "Mars/Olympus": expected an IANA time zone such as UTC or Europe/Berlin\n');
  });
});
