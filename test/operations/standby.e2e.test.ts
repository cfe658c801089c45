import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMarket } from '../../src/demo/market.js';
import { startProviderServer, type ProviderServer } from '../../src/demo/provider-server.js';
import { makePostgresPair, pairUnavailable, withClient, type PostgresPair, type Server } from '../../bench/postgres-pair.js';
import { locateUrl, openDirect } from '../../src/warehouse/connection.js';
import { SESSION_ATTRS } from '../../src/warehouse/postgres-url.js';
import { DatabaseLocator, openLocated } from '../../src/warehouse/reconnect.js';
import { finished, runCli, startCli, waitForOutput, type CliResult } from '../helpers/cli.js';

/**
 * issue 27: a standby that takes over, on PostgreSQL's own replication. A primary and a streaming standby of Debian's
 * PostgreSQL 15 (initdb, pg_basebackup -R) on free loopback ports, made here and removed afterwards, even on failure.
 * Real fxpipe processes load into the primary, read from the standby while the primary is stopped, and load into the
 * standby once it is promoted. psql (libpq itself) is the oracle for which host each URL settles on.
 */
const execFileP = promisify(execFile);
const SKIP =
  pairUnavailable() ??
  (process.env.DATABASE_URL ? 'runs in the embedded pass: it makes its own primary and standby, whatever server the suite uses' : null);

const DATABASE = 'fxpipe';
const DAY_MS = 86_400_000;
const CHECK_BODY = 'base,quote,rate\nUSD,EUR,0.9\n';

let pair: PostgresPair | undefined;
let provider: ProviderServer | undefined;
let providerNow = new Date();
const children: ReturnType<typeof startCli>[] = [];
/** Every fxpipe output of the file, checked at the end for the password. */
const outputs: string[] = [];
const scratch = (prefix: string) => mkdtempSync(path.join(process.env.TMPDIR ?? tmpdir(), prefix));

async function rowsOf<R extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<R[]> {
  return withClient(url, async (client) => (await client.query<R>(sql, params)).rows);
}

/** The port libpq (psql) settles on for url, or 'fails'. */
async function libpqChoice(url: string): Promise<number | 'fails'> {
  const env = { ...process.env, PGCONNECT_TIMEOUT: '5' };
  const out = await execFileP('psql', [url, '-XAtc', 'select inet_server_port()'], { env, timeout: 30_000 }).catch(() => null);
  return out ? Number(out.stdout.trim()) : 'fails';
}

/** The port fxpipe settles on for url, or 'fails'. */
async function fxpipeChoice(url: string): Promise<number | 'fails'> {
  try {
    return Number(new URL((await locateUrl(url, 'DATABASE_URL')).url).port);
  } catch {
    return 'fails';
  }
}

/** For every target_session_attrs and both orders of the two hosts, fxpipe settles where libpq does. Returns libpq's choices. */
async function expectLibpqChoices(p: PostgresPair): Promise<(number | 'fails')[]> {
  const orders: Server[][] = [
    ['primary', 'standby'],
    ['standby', 'primary'],
  ];
  const cases = orders.flatMap((order) => SESSION_ATTRS.map((attrs) => ({ order, attrs, url: p.both(attrs, order) })));
  const chosen = await Promise.all(
    cases.map(async ({ order, attrs, url }) => {
      const [fxpipe, libpq] = await Promise.all([fxpipeChoice(url), libpqChoice(url)]);
      return { hosts: `${order.join(',')} ${attrs}`, fxpipe, libpq };
    }),
  );
  expect(chosen.map(({ hosts, fxpipe }) => ({ hosts, fxpipe }))).toEqual(chosen.map(({ hosts, libpq }) => ({ hosts, fxpipe: libpq })));
  return chosen.map((c) => c.libpq);
}

async function cli(args: string[], env: Record<string, string>): Promise<CliResult> {
  const result = await runCli(args, { env: { FXPIPE_HOME: scratch('fxpipe-standby-home-'), ...env }, timeoutMs: 120_000 });
  outputs.push(result.stdout, result.stderr);
  return result;
}

interface Run {
  runId: string;
  status: string;
  asOf: string;
}

/** `fxpipe run --json` against the provider as it publishes at `at`. */
async function runAt(at: Date, databaseUrl: string): Promise<Run> {
  providerNow = at;
  const result = await cli(['run', '--json'], { ...provider!.env, DATABASE_URL: databaseUrl, FXPIPE_HTTP_RETRIES: '1' });
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as Run;
}

interface Served {
  url: string;
  child: ReturnType<typeof startCli>;
}

async function startServe(env: Record<string, string>): Promise<Served> {
  const home = scratch('fxpipe-standby-home-');
  const child = startCli(['serve', '--port', '0'], { env: { FXPIPE_HOME: home, FXPIPE_LOG_LEVEL: 'warn', ...env } });
  children.push(child);
  await waitForOutput(child, /http:\/\/127\.0\.0\.1:\d+\//, 60_000).catch((error) => {
    throw new Error(`${(error as Error).message}\nstderr: ${child.out.stderr}`);
  });
  return { url: /http:\/\/127\.0\.0\.1:\d+/.exec(child.out.stdout)![0], child };
}

/**
 * Until route answers 200: the request whose statement met a connection the server had just closed is a 503 (its
 * client tries again); the next one is answered at the host located anew. Anything but 503 meanwhile fails.
 */
async function answering(served: Served, route: string): Promise<void> {
  for (let tries = 0; tries < 20; tries++) {
    const response = await fetch(served.url + route);
    await response.arrayBuffer();
    if (response.status === 200) return;
    expect(response.status).toBe(503);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${route} did not answer 200 within 5 s`);
}

async function stopServe(served: Served): Promise<void> {
  served.child.kill('SIGTERM');
  const result = await finished(served.child, 30_000);
  outputs.push(result.stdout, result.stderr);
  expect(result.code).toBe(0);
}

const isoDay = (date: Date) => date.toISOString().slice(0, 10);
const runIds = (runs: { runId: string }[]) => runs.map((run) => run.runId).sort();

describe('a streaming standby (Debian PostgreSQL 15) that takes over', () => {
  const now = Date.now();
  const days = [new Date(now - 2 * DAY_MS), new Date(now - DAY_MS)];
  const runs: Run[] = [];
  /** What serve answered for each read-only route while it read the primary. */
  const answered = new Map<string, { status: number; body: string }>();
  let routes: string[] = [];
  let served: Served | undefined;

  beforeAll(async () => {
    if (SKIP) return;
    pair = await makePostgresPair({ database: DATABASE });
    const market = createMarket({ seed: 27, start: new Date(now - 10 * DAY_MS) });
    provider = await startProviderServer({ market, clock: () => providerNow });
  }, 180_000);

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await provider?.close();
    if (pair) await pair.drop();
  }, 60_000);

  it('fxpipe settles on the host psql (libpq) settles on, for every target_session_attrs and both orders', async (ctx) => {
    ctx.skip(SKIP !== null, SKIP ?? '');
    const chosen = await expectLibpqChoices(pair!);
    // Not a vacuous agreement: libpq chose each server for some, the primary for read-write in either order.
    expect(new Set(chosen)).toEqual(new Set([pair!.port.primary, pair!.port.standby]));
  });

  it('a host located earlier that no longer fits (default_transaction_read_only turned on) is located anew, not used', async (ctx) => {
    ctx.skip(SKIP !== null, SKIP ?? '');
    const p = pair!;
    const locator = new DatabaseLocator(() => locateUrl(p.both('read-write'), 'DATABASE_URL'));
    const portOf = async () => {
      const { db, target } = await openLocated(locator, (at) => openDirect(at));
      await db.close();
      return Number(new URL(target.url).port);
    };
    const readOnly = (on: boolean) =>
      withClient(p.single('primary'), async (client) => {
        await client.query(on ? 'alter system set default_transaction_read_only = on' : 'alter system reset default_transaction_read_only');
        await client.query('select pg_reload_conf()');
      });
    expect(await portOf()).toBe(p.port.primary);
    await readOnly(true);
    try {
      await expect(portOf()).rejects.toThrow(
        'no host would do for target_session_attrs=read-write: ' +
          `127.0.0.1:${p.port.standby}: session is read-only; 127.0.0.1:${p.port.primary}: session is read-only`,
      );
    } finally {
      await readOnly(false);
    }
    expect(await portOf()).toBe(p.port.primary);
  });

  it(
    'runs through DATABASE_URL naming both hosts, the standby first, load into the primary; ' +
      'serve reads the standby, then the primary while the standby is down',
    async (ctx) => {
      ctx.skip(SKIP !== null, SKIP ?? '');
      const p = pair!;
      for (const day of days) runs.push(await runAt(day, p.both('read-write')));
      expect(runs.map((r) => r.status)).toEqual(['loaded', 'loaded']);
      await p.caughtUp();
      const committedOn = async (server: Server) =>
        runIds(await rowsOf<{ runId: string }>(p.single(server), 'select run_id::text as "runId" from pipeline_runs'));
      expect(await committedOn('primary')).toEqual(runIds(runs));
      expect(await committedOn('standby')).toEqual(runIds(runs));

      // serve reads the standby: prefer-standby passes over the primary listed first.
      served = await startServe({
        DATABASE_URL: p.both('read-write', ['primary', 'standby']),
        FXPIPE_READ_DATABASE_URL: p.both('prefer-standby', ['primary', 'standby']),
      });
      expect(served.child.out.stdout).toContain(
        `database 127.0.0.1:${p.port.standby}/${DATABASE} (FXPIPE_READ_DATABASE_URL, host 2 of 2, a standby); writes through DATABASE_URL`,
      );
      const [from, to] = days.map(isoDay);
      const at = encodeURIComponent(runs[1]!.asOf);
      routes = [
        `/api/v1/history?pair=USD/EUR&from=${from}&to=${to}`,
        `/api/v1/history?pair=EUR/JPY&from=${from}&to=${to}`,
        `/api/v1/convert?amount=250&from=GBP&to=JPY&at=${at}`,
        `/api/v1/consensus?base=USD&quote=EUR&at=${at}`,
        `/frankfurter/v1/${from}?base=USD&symbols=EUR,JPY`,
        '/api/v1/currencies',
        '/api/v1/runs',
      ];
      expect((await fetch(served.url + routes[0]!)).status).toBe(200);

      // With the standby stopped, the reads move to the primary (prefer-standby's second pass). What they answer there is
      // the oracle for what the standby answers once the primary is down.
      await p.stop('standby');
      await answering(served, routes[0]!);
      for (const route of routes) {
        const response = await fetch(served.url + route);
        answered.set(route, { status: response.status, body: await response.text() });
      }
      expect([...answered].map(([route, a]) => [route, a.status])).toEqual(routes.map((route) => [route, 200]));
      // Two days of USD/EUR: the runs' values, as PostgreSQL aggregates them.
      const history = JSON.parse(answered.get(routes[0]!)!.body) as { points: { date: string; close: string }[] };
      const daily = await rowsOf<{ date: string; close: string }>(
        p.single('primary'),
        `select to_char(date, 'YYYY-MM-DD') as date, close::text as close from api.daily_rates
        where base = 'USD' and quote = 'EUR' and source = 'open-er-api' and date between $1 and $2 order by date`,
        [from, to],
      );
      expect(daily).toHaveLength(2);
      expect(history.points.map(({ date, close }) => ({ date, close }))).toEqual(daily);
      await p.start('standby');
      await p.caughtUp();
    },
  );

  it(
    'with the primary stopped, serve answers every read-only route from the standby as the primary did; a check is 503; ' +
      'status and query read the standby',
    async (ctx) => {
      ctx.skip(SKIP !== null, SKIP ?? '');
      const p = pair!;
      await p.stop('primary');
      await expectLibpqChoices(p);

      await answering(served!, routes[0]!);
      for (const route of routes) {
        const response = await fetch(served!.url + route);
        expect({ route, status: response.status, body: await response.text() }).toEqual({ route, ...answered.get(route) });
      }
      // What writes goes to the host that accepts writes: there is none now. The caller learns nothing of the hosts.
      const check = await fetch(`${served!.url}/api/v1/verify`, { method: 'POST', body: CHECK_BODY });
      expect(check.status).toBe(503);
      const refusal = await check.text();
      for (const detail of [String(p.port.primary), String(p.port.standby), '127.0.0.1', 'DATABASE_URL']) {
        expect(refusal).not.toContain(detail);
      }

      // The commands that only read take FXPIPE_READ_DATABASE_URL too; without it, they say why no host would do.
      const env = { DATABASE_URL: p.both('read-write'), FXPIPE_READ_DATABASE_URL: p.both('prefer-standby') };
      const status = await cli(['status', '--json'], env);
      expect(status.stderr).toBe('');
      const shown = JSON.parse(status.stdout) as { database: string; runs: { runId: string }[] };
      expect(shown.database).toBe(`127.0.0.1:${p.port.standby}/${DATABASE} (FXPIPE_READ_DATABASE_URL, host 1 of 2, a standby)`);
      expect(runIds(shown.runs)).toEqual(runIds(runs));
      const count = await cli(['query', 'select count(*) as n from rates_history', '--format', 'csv'], env);
      expect(count.stderr).toBe('');
      expect(count.stdout).toMatch(/^n\n[1-9]\d*\n$/);
      const nowhere = await cli(['status'], { DATABASE_URL: p.both('read-write') });
      expect(nowhere.code).toBe(2);
      const hosts = `127.0.0.1:${p.port.standby},127.0.0.1:${p.port.primary}/${DATABASE}`;
      expect(nowhere.stderr).toBe(
        `fxpipe: cannot connect to PostgreSQL at ${hosts} ` +
          `(DATABASE_URL): no host would do for target_session_attrs=read-write: 127.0.0.1:${p.port.standby}: session is read-only; ` +
          `127.0.0.1:${p.port.primary}: connect ECONNREFUSED 127.0.0.1:${p.port.primary}\n`,
      );
    },
  );

  it(
    'after pg_ctl promote, fxpipe run naming both hosts loads into the promoted one; serve writes there too; ' +
      'no committed run is missing',
    async (ctx) => {
      ctx.skip(SKIP !== null, SKIP ?? '');
      const p = pair!;
      await p.promote('standby');
      await expectLibpqChoices(p);

      const last = await runAt(new Date(), p.both('read-write', ['primary', 'standby']));
      expect(last.status).toBe('loaded');
      runs.push(last);
      const committed = await rowsOf<{ runId: string; rows: number }>(
        p.single('standby'),
        `select r.run_id::text as "runId", (select count(*)::int from fact_rates_history h where h.run_id = r.run_id) as rows
         from pipeline_runs r`,
      );
      expect(runIds(committed)).toEqual(runIds(runs));
      for (const run of committed) expect({ run: run.runId, loaded: run.rows > 0 }).toEqual({ run: run.runId, loaded: true });

      // serve, still running, finds the new primary for what writes at its next check.
      const check = await fetch(`${served!.url}/api/v1/verify?label=after-failover`, { method: 'POST', body: CHECK_BODY });
      expect(check.status).toBe(200);
      const stored = await rowsOf(p.single('standby'), `select count(*)::int as n from production_checks where label = 'after-failover'`);
      expect(stored).toEqual([{ n: 1 }]);
      // Its reads stay on the promoted server, where they were: the same answers.
      const history = await fetch(served!.url + routes[0]!);
      expect({ status: history.status, body: await history.text() }).toEqual(answered.get(routes[0]!));
      await stopServe(served!);
      for (const output of outputs) expect(output).not.toContain(p.password);
    },
  );
});
