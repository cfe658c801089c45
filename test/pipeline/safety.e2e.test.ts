import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMarket } from '../../src/demo/market.js';
import { startProviderServer, type ProviderServer } from '../../src/demo/provider-server.js';
import { initWarehouse } from '../../src/warehouse/init.js';
import { finished, runCli, startCli } from '../helpers/cli.js';
import { type RunJson } from '../helpers/cli-json.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { pauseRunsAfterHistoryInsert } from '../helpers/pause-runs.js';
import { TEST_API_KEY } from '../helpers/pipeline.js';
import { matcher } from '../helpers/matcher.js';

describe('run safety, from the CLI', () => {
  let database: TestDatabase;
  let server: ProviderServer;
  let env: Record<string, string>;
  const clients: pg.Client[] = [];

  beforeEach(async () => {
    database = await createTestDatabase();
    await initWarehouse(await database.open());
    server = await startProviderServer({
      market: createMarket({ seed: 3, start: new Date('2026-01-01T00:00:00Z') }),
      clock: () => new Date(),
      apiKey: TEST_API_KEY,
    });
    env = { ...server.env, DATABASE_URL: database.url, FXPIPE_HTTP_RETRIES: '1' };
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.end().catch(() => undefined);
    await server.close();
    await database.drop();
  });

  async function connect(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    clients.push(client);
    return client;
  }

  const backends = async (client: pg.Client) =>
    (await client.query<{ pid: number }>('select pid from pg_stat_activity where datname = current_database()')).rows.map((r) => r.pid);

  const countOf = async (client: pg.Client, table: string) =>
    Number((await client.query<{ n: string }>(`select count(*) as n from ${table}`)).rows[0]!.n);

  it('a process killed between the history insert and the commit loads nothing, keeps every response received, and shows as interrupted', async () => {
    const pause = await pauseRunsAfterHistoryInsert(database.url);
    const watcher = await connect();
    const before = await backends(watcher);
    const run = startCli(['run'], { env });
    const backend = await pause.waitUntilPaused();
    const { rows: held } = await watcher.query<{ relname: string }>(
      `select c.relname from pg_locks l join pg_class c on c.oid = l.relation
        where l.pid = $1 and l.mode = 'RowExclusiveLock' and c.relname like 'fact_rates_history_y%'`,
      [backend],
    );
    expect(held.length).toBeGreaterThan(0); // the history insert happened, uncommitted
    run.kill('SIGKILL');
    await finished(run);
    await pause.release();
    for (let i = 0; i < 200; i++) {
      // Every backend of the killed process: its own and its run-lock session's.
      if ((await backends(watcher)).every((pid) => before.includes(pid))) break;
      await sleep(50);
    }
    for (const table of ['fact_rates_history', 'fact_rates_current', 'dim_source']) {
      expect(await countOf(watcher, table), table).toBe(0);
    }
    // The responses were committed to bronze before the load began: the audit trail survives the kill.
    const kept = await watcher.query<{ source_name: string; http_status: number }>(
      'select source_name, http_status from bronze_extraction order by source_name',
    );
    expect(kept.rows).toEqual([
      { source_name: 'frankfurter', http_status: 200 },
      { source_name: 'open-er-api', http_status: 200 },
    ]);
    // The dead run's row is shown as interrupted at once, not as running until the next job.
    const status = await runCli(['status', '--json'], { env });
    expect(status.code).toBe(0);
    const runs = (JSON.parse(status.stdout) as { runs: { status: string }[] }).runs;
    expect(runs.map((r) => r.status)).toEqual(['interrupted']);

    const next = await runCli(['run', '--json'], { env });
    expect(next.code).toBe(0);
    expect((JSON.parse(next.stdout) as RunJson).status).toBe('loaded');
    const { rows: after } = await watcher.query<{ status: string; error: string | null }>(
      'select status, error from pipeline_runs order by started_at',
    );
    expect(after).toEqual([
      { status: 'failed', error: 'interrupted: the process ended before the job finished' },
      { status: 'loaded', error: null },
    ]);
  });

  it('a connection lost while idle during a run is logged as a warning naming the run', async () => {
    const pause = await pauseRunsAfterHistoryInsert(database.url);
    const watcher = await connect();
    const run = startCli(['run', '--json'], { env: { ...env, FXPIPE_LOG_LEVEL: 'warn' } });
    const backend = await pause.waitUntilPaused();
    // The run's other connection: the session holding the run lock, idle while the run loads.
    const {
      rows: [session],
    } = await watcher.query<{ pid: number }>(
      `select pid from pg_stat_activity
        where datname = current_database() and application_name = 'fxpipe' and pid <> $1 and state = 'idle in transaction'`,
      [backend],
    );
    expect(session).toBeDefined();
    await watcher.query('select pg_terminate_backend($1)', [session!.pid]);
    await sleep(300);
    await pause.release();
    const result = await finished(run);
    expect(result.code, result.stderr).toBe(0);
    const { runId } = JSON.parse(result.stdout) as { runId: string };
    const warnings = result.stderr
      .split('\n')
      .filter((line) => line.includes('PostgreSQL connection failed'))
      .map((line) => JSON.parse(line) as { level: number; runId?: string; err: string });
    // node-postgres reports the server's FATAL, then the socket's end: each one line, each naming the run.
    expect(warnings.length, result.stderr).toBeGreaterThanOrEqual(1);
    expect(warnings[0]).toMatchObject({ level: 40, runId, err: 'terminating connection due to administrator command' });
    for (const warning of warnings) expect(warning.runId).toBe(runId);
  });

  it('two runs at once: the second waits briefly, then exits with "another run is in progress"; never both load', async () => {
    const pause = await pauseRunsAfterHistoryInsert(database.url);
    const watcher = await connect();
    const first = startCli(['run'], { env });
    await pause.waitUntilPaused();
    const second = await runCli(['run'], { env: { ...env, FXPIPE_LOCK_WAIT_MS: '300' } });
    expect(second.code).toBe(3);
    expect(second.stderr.trim()).toBe('fxpipe: another run is in progress (waited 0 s for its lock)');
    await pause.release();
    const result = await finished(first);
    expect(result.code).toBe(0);
    expect(await countOf(watcher, 'pipeline_runs')).toBe(1);
  });

  it('run --json prints one object with the run id, status, source, failover, counts and stage durations', async () => {
    const result = await runCli(['run', '--json'], { env });
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout) as RunJson;
    expect(json).toMatchObject({
      status: 'loaded',
      sourceUsed: 'open-er-api',
      failover: false,
      counts: { extracted: matcher.any(Number) },
    });
    expect(json.runId).toMatch(/^[0-9a-f-]{36}$/);
    expect(Object.keys(json.stageMs)).toEqual(['lock', 'extract', 'normalize', 'load', 'refresh', 'total']);
    const again = await runCli(['run', '--json'], { env });
    expect((JSON.parse(again.stdout) as RunJson).status).toBe('unchanged');
    expect(again.code).toBe(0);
  });

  it('exits 1 with a one-line reason when no source delivered', async () => {
    server.injectFault('open-er-api', { kind: 'status', status: 503, body: '<html>down</html>', contentType: 'text/html' }, Infinity);
    server.injectFault('frankfurter', { kind: 'status', status: 502, body: '<html>down</html>', contentType: 'text/html' }, Infinity);
    const result = await runCli(['run'], { env });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^fxpipe: run failed: no source delivered: open-er-api: HTTP 503.*frankfurter: HTTP 502/),
    ]);
  });

  it('rejects an unknown source name in --sources with exit 2', async () => {
    const result = await runCli(['run', '--sources', 'open-er-api,bloomberg'], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^fxpipe: invalid --sources "open-er-api,bloomberg": expected a comma-separated list of open-er-api, exchangerate-api, frankfurter, ecb\n$/,
    );
  });

  it('a fake API key never appears in bronze, logs, errors or --json output', async () => {
    const keyed = { ...env, EXCHANGERATE_API_KEY: TEST_API_KEY, FXPIPE_LOG_LEVEL: 'trace' };
    const ok = await runCli(['--verbose', 'run', '--json', '--sources', 'exchangerate-api,frankfurter'], { env: keyed });
    expect(ok.code).toBe(0);
    expect((JSON.parse(ok.stdout) as RunJson).sourceUsed).toBe('exchangerate-api');
    const wrongKey = 'fxk-wrong-0000-1111';
    const bad = await runCli(['--verbose', 'run', '--json', '--no-verify', '--sources', 'exchangerate-api'], {
      env: { ...keyed, EXCHANGERATE_API_KEY: wrongKey },
    });
    expect(bad.code).toBe(1);
    expect((JSON.parse(bad.stdout) as RunJson).error).toMatch(/invalid-key/);
    const text = await runCli(['run', '--no-verify', '--sources', 'exchangerate-api'], { env: { ...env, EXCHANGERATE_API_KEY: wrongKey } });
    expect(text.stderr).toMatch(/invalid-key/);
    const client = await connect();
    const stored = (
      await client.query<{ t: string }>(
        `select string_agg(t::text, ' ') as t from (select b::text as t from bronze_extraction b
        union all select r::text from pipeline_runs r union all select x::text from rejected_rates x
        union all select s::text from dim_source s) t`,
      )
    ).rows[0]!.t;
    expect(stored).toContain('/v6/***/latest/USD');
    for (const output of [ok.stdout, ok.stderr, bad.stdout, bad.stderr, text.stdout, text.stderr, stored]) {
      expect(output).not.toContain(TEST_API_KEY);
      expect(output).not.toContain(wrongKey);
    }
  });
});
