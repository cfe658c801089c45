import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMarket } from '../../src/demo/market.js';
import { startProviderServer, type ProviderServer } from '../../src/demo/provider-server.js';
import { embeddedPaths, stopEmbedded } from '../../src/postgres/server/embedded.js';
import { finished, runCli, startCli } from '../helpers/cli.js';
import { scratchDir } from '../helpers/database.js';
import { startReceiver, type Receiver } from '../helpers/webhook-receiver.js';
import { matcher } from '../helpers/matcher.js';

const PAUSE_KEY = 4243;

/** Holds every run at its history insert (a test-only trigger waits on an advisory lock this session holds). */
async function pauseRuns(url: string): Promise<{ client: pg.Client; waitUntilPaused(): Promise<void> }> {
  const client = new pg.Client({ connectionString: url });
  // The server's stop terminates this session too.
  client.on('error', () => undefined);
  await client.connect();
  await client.query(`create function test_pause() returns trigger language plpgsql as $$
                      begin perform pg_advisory_lock(${PAUSE_KEY}); perform pg_advisory_unlock(${PAUSE_KEY}); return null; end $$`);
  await client.query('create trigger test_pause after insert on fact_rates_history for each statement execute function test_pause()');
  await client.query('select pg_advisory_lock($1)', [PAUSE_KEY]);
  return {
    client,
    async waitUntilPaused() {
      for (let i = 0; i < 600; i++) {
        const { rows } = await client.query(
          `select 1 from pg_stat_activity where wait_event = 'advisory' and query ilike 'insert into fact_rates_history%'`,
        );
        if (rows.length > 0) return;
        await sleep(100);
      }
      throw new Error('no run reached its history insert');
    },
  };
}

interface RunRow {
  run_id: string;
  kind: string;
  status: string;
  error: string | null;
  started_at: Date;
}

describe('fxpipe schedule when the embedded server stops and comes back', () => {
  const home = path.join(scratchDir(), '.fxpipe');
  let providers: ProviderServer;
  let receiver: Receiver;
  let env: Record<string, string>;
  beforeEach(async () => {
    providers = await startProviderServer({
      market: createMarket({ seed: 11, start: new Date('2026-06-01T00:00:00Z') }),
      clock: () => new Date(),
    });
    receiver = await startReceiver();
    env = {
      ...providers.env,
      FXPIPE_HOME: home,
      FXPIPE_HTTP_RETRIES: '0',
      FXPIPE_LOG_LEVEL: 'warn',
      FXPIPE_WEBHOOK_URL: `${receiver.origin}/hook`,
      FXPIPE_WEBHOOK_TIMEOUT_MS: '2000',
    };
  });
  afterEach(async () => {
    await receiver.close();
    await providers.close();
    await stopEmbedded(home).catch(() => undefined);
  });

  it('records each slot the database kept from running as a failed run with the reason, raises run_failed, and loads the next slots', async () => {
    expect((await runCli(['db', 'init'], { env })).code).toBe(0);
    const firstUrl = (await runCli(['db', 'url'], { env })).stdout.trim();
    const pause = await pauseRuns(firstUrl);
    const scheduler = startCli(['schedule', '--cron', '* * * * * *'], { env });
    let client: pg.Client | undefined;
    const runFailed = () =>
      receiver.received.map((r) => r.body as { kind: string; runId: string; message: string }).filter((b) => b.kind === 'run_failed');
    try {
      await pause.waitUntilPaused();
      // The run in progress loses its connection; then another command starts the server again, on its port.
      expect((await runCli(['db', 'stop'], { env })).stdout).toContain('Stopped');
      await pause.client.end().catch(() => undefined);
      // run_failed does not wait for the database (issue 26): it comes while the server is down.
      for (let i = 0; i < 100 && runFailed().length === 0; i++) await sleep(100);
      const url = (await runCli(['db', 'url'], { env })).stdout.trim();
      expect(url).toBe(firstUrl);

      client = new pg.Client({ connectionString: url });
      await client.connect();
      const {
        rows: [server],
      } = await client.query<{ started: Date }>('select pg_postmaster_start_time() as started');
      expect(receiver.received.find((r) => (r.body as { kind: string }).kind === 'run_failed')?.at).toBeLessThan(server!.started.getTime());
      const runs = async () =>
        (await client!.query<RunRow>(`select run_id, kind, status, error, started_at from pipeline_runs order by started_at`)).rows;
      let seen: RunRow[] = [];
      for (let i = 0; i < 240; i++) {
        seen = await runs();
        const failedAt = seen.findIndex((r) => r.status === 'failed');
        if (failedAt >= 0 && seen.slice(failedAt + 1).some((r) => r.status === 'loaded')) break;
        await sleep(500);
      }
      const failed = seen.filter((r) => r.status === 'failed');
      expect(failed, JSON.stringify(seen)).toHaveLength(1);
      expect(failed[0]).toMatchObject({ kind: 'scheduled', error: matcher.stringMatching(/^database unreachable: \S/) });
      const later = seen.filter((r) => r.started_at > failed[0]!.started_at);
      expect(later.some((r) => r.kind === 'scheduled' && r.status === 'loaded')).toBe(true);

      // The slot it belonged to records it; so does the alert log, and the webhook got run_failed once.
      const { rows: slots } = await client.query<{ status: string }>('select status from scheduler_slots where run_id = $1', [
        failed[0]!.run_id,
      ]);
      expect(slots).toEqual([{ status: 'failed' }]);
      expect(runFailed()).toHaveLength(1);
      expect(runFailed()[0]).toMatchObject({ runId: failed[0]!.run_id, message: matcher.stringContaining(failed[0]!.error!) });
      const { rows: logged } = await client.query<{ delivered: boolean }>(
        `select delivered from alert_log where kind = 'run_failed' and run_id = $1`,
        [failed[0]!.run_id],
      );
      expect(logged).toEqual([{ delivered: true }]);

      // Stopped again, and it cannot start for a while (a setting the server refuses): every slot in
      // between is missed; once it starts, each is recorded, with its alert, and loading goes on.
      await client.end();
      client = undefined;
      const conf = path.join(embeddedPaths(home).dataDir, 'postgresql.conf');
      const settings = readFileSync(conf, 'utf8');
      appendFileSync(conf, '\nbroken_by_test = on\n');
      expect((await runCli(['db', 'stop'], { env })).stdout).toContain('Stopped');
      // Distinct slots: under load two ticks can resolve to the same slot, which is missed (and recorded) once.
      const missedLogged = () =>
        new Set(
          scheduler.out.stderr
            .split('\n')
            .filter((line) => line.includes('slot missed'))
            .map((line) => /"slot":"([^"]+)"/.exec(line)?.[1] ?? line),
        ).size;
      for (let i = 0; i < 240 && missedLogged() < 3; i++) await sleep(250);
      expect(missedLogged()).toBeGreaterThanOrEqual(3);
      // Each raised run_failed at once, the server still down.
      for (let i = 0; i < 40 && runFailed().length < 4; i++) await sleep(250);
      expect(runFailed().length).toBeGreaterThanOrEqual(4);
      writeFileSync(conf, settings);

      const url2 = (await runCli(['db', 'url'], { env })).stdout.trim();
      client = new pg.Client({ connectionString: url2 });
      await client.connect();
      for (let i = 0; i < 240; i++) {
        seen = await runs();
        const lastFailed = seen.findLastIndex((r) => r.status === 'failed');
        if (
          seen.filter((r) => r.status === 'failed').length >= 3 &&
          seen.slice(lastFailed + 1).some((r) => r.status === 'loaded' || r.status === 'unchanged')
        )
          break;
        await sleep(500);
      }
      const failedNow = seen.filter((r) => r.status === 'failed');
      expect(failedNow.length, JSON.stringify(seen)).toBeGreaterThanOrEqual(3);
      for (const run of failedNow)
        expect(run).toMatchObject({ kind: 'scheduled', error: matcher.stringMatching(/^database unreachable: \S/) });
      const lastFailed = failedNow.at(-1)!;
      expect(
        seen.some((r) => r.started_at > lastFailed.started_at && r.kind === 'scheduled' && ['loaded', 'unchanged'].includes(r.status)),
      ).toBe(true);
      // Each failed run is its slot's outcome, and each raised run_failed once.
      const { rows: unslotted } = await client.query(
        `select r.run_id from pipeline_runs r where r.status = 'failed' and not exists (select 1 from scheduler_slots s where s.run_id = r.run_id and s.status = 'failed')`,
      );
      expect(unslotted).toEqual([]);
      expect(
        runFailed()
          .map((a) => a.runId)
          .sort(),
      ).toEqual(failedNow.map((r) => r.run_id).sort());

      scheduler.kill('SIGTERM');
      const result = await finished(scheduler, 60_000);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('Scheduler stopped.');
    } finally {
      scheduler.kill('SIGKILL');
      await client?.end().catch(() => undefined);
    }
  }, 240_000);
});
