/**
 * npm run bench:watchdog — what the reader watchdog (issue 16) costs and how closely it holds a limit, on the server
 * fxpipe uses: BENCH_READERS reader roles (grant-reader), each holding BENCH_SESSIONS idle connections, so every sweep
 * looks at that many reader backends besides the rest.
 *
 * Reported: the median duration of one sweep (stopReadersOverLimits, BENCH_SWEEPS of them) against the watchdog's
 * 1-second interval (its duty: the share of a core it keeps busy on the server), and how long a reader's
 * `pg_sleep(60)` with `statement_timeout = 0` ran before the embedded server's own watchdog cancelled it, against the
 * reader's limit (BENCH_CANCELS of them; one interval late at most is the design).
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { clientSettings, openDb, resolveTarget } from '../src/warehouse/connection.js';
import { grantReader } from '../src/postgres/readers/grant-reader.js';
import { stopReadersOverLimits } from '../src/postgres/readers/reader-watchdog.js';
import { revokeReader } from '../src/postgres/readers/revoke-reader.js';
import { initWarehouse } from '../src/warehouse/init.js';
import { recreateDatabase } from '../src/warehouse/databases.js';
import { hasSqlState, SqlState } from '../src/warehouse/sqlstate.js';
import { machineLine, report } from './report.js';

const READERS = Number(process.env.BENCH_READERS ?? 5);
const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 8);
const SWEEPS = Number(process.env.BENCH_SWEEPS ?? 200);
const CANCELS = Number(process.env.BENCH_CANCELS ?? 5);
const INTERVAL_MS = 1000;
const LIMIT_MS = 2000;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main() {
  for (const [name, value, max] of [
    ['BENCH_READERS', READERS, 20],
    ['BENCH_SESSIONS', SESSIONS, 10],
    ['BENCH_SWEEPS', SWEEPS, 10_000],
    ['BENCH_CANCELS', CANCELS, 50],
  ] as const) {
    if (!Number.isInteger(value) || value < 1 || value > max) throw new Error(`${name} must be a whole number from 1 to ${max}`);
  }
  const server = await resolveTarget(loadConfig());
  if (!server.embedded) throw new Error('bench:watchdog measures the embedded server and its own watchdog: unset DATABASE_URL');
  const target = await recreateDatabase(server, 'fxpipe_bench_watchdog');
  const db = await openDb(target, { applicationName: 'fxpipe-bench-watchdog' });
  const roles = Array.from({ length: READERS }, () => `bench_reader_${randomBytes(4).toString('hex')}`);
  const clients: pg.Client[] = [];
  try {
    await initWarehouse(db);
    const passwords = new Map<string, string>();
    for (const role of roles) {
      const { generatedPassword } = await grantReader(db, role, undefined, { statementTimeoutMs: LIMIT_MS });
      passwords.set(role, generatedPassword!);
    }
    const url = new URL(target.url);
    const as = (role: string) => {
      const u = new URL(url);
      u.username = role;
      u.password = passwords.get(role)!;
      return new pg.Client({ ...clientSettings({ url: u.toString(), tls: target.tls }), connectionTimeoutMillis: 10_000 });
    };
    for (const role of roles) {
      for (let i = 0; i < SESSIONS; i++) {
        const client = as(role);
        client.on('error', () => undefined);
        await client.connect();
        clients.push(client);
      }
    }
    const sweeps: number[] = [];
    for (let i = 0; i < SWEEPS; i++) {
      const t0 = performance.now();
      await stopReadersOverLimits(db);
      sweeps.push(performance.now() - t0);
    }
    // The server's own watchdog (not this process) cancels these.
    const cancelled: number[] = [];
    for (let i = 0; i < CANCELS; i++) {
      const client = clients[i % clients.length]!;
      await client.query('set statement_timeout = 0');
      // Each query starts right after the previous cancel, so in step with the watchdog's ticks: shift it by a fraction
      // of an interval each time, to sample every phase of the tick.
      await sleep(((i + 0.5) * INTERVAL_MS) / CANCELS);
      const t0 = performance.now();
      const error = await client.query('select pg_sleep(60)').then(
        () => null,
        (e: unknown) => e,
      );
      // query_canceled with "user request" is pg_cancel_backend's (the watchdog's); the session's own timeout says "statement timeout".
      if (!hasSqlState(error, SqlState.query_canceled) || !(error as Error).message.includes('user request')) {
        throw new Error(
          `pg_sleep(60) was not cancelled by the watchdog (${(error as Error | null)?.message ?? 'it finished'}): is the embedded server's watchdog running?`,
        );
      }
      cancelled.push(performance.now() - t0);
    }
    const sweep = median(sweeps);
    const late = median(cancelled);
    report({
      bench: 'watchdog',
      title: `the reader watchdog: ${READERS} readers × ${SESSIONS} idle sessions`,
      machine: await machineLine(db, server.label),
      details: [
        `${SWEEPS} sweeps timed in this process; ${CANCELS} reader queries (\`set statement_timeout = 0; select pg_sleep(60)\`) with a ${LIMIT_MS / 1000} s limit, cancelled by the embedded server's own watchdog.`,
        '',
        '| measured | median | min | max |',
        '|---|---|---|---|',
        `| one sweep (ms) | ${sweep.toFixed(2)} | ${Math.min(...sweeps).toFixed(2)} | ${Math.max(...sweeps).toFixed(2)} |`,
        `| reader query until cancelled (ms) | ${late.toFixed(0)} | ${Math.min(...cancelled).toFixed(0)} | ${Math.max(...cancelled).toFixed(0)} |`,
      ],
      figures: [
        {
          figure: `one watchdog sweep (${READERS * SESSIONS} reader sessions) vs its ${INTERVAL_MS} ms interval: the share of time it keeps the server busy`,
          ours: `${sweep.toFixed(2)} ms`,
          peer: `${INTERVAL_MS} ms`,
          ratio: (sweep / INTERVAL_MS).toFixed(4),
        },
        {
          figure: `a reader query that lifted its own timeout, until the watchdog cancelled it, vs the reader's ${LIMIT_MS / 1000} s limit (≤ 1.5 by design: at most one interval late)`,
          ours: `${late.toFixed(0)} ms`,
          peer: `${LIMIT_MS} ms`,
          ratio: (late / LIMIT_MS).toFixed(2),
        },
      ],
    });
  } finally {
    await Promise.all(clients.map((client) => client.end().catch(() => undefined)));
    for (const role of roles) await revokeReader(db, role).catch(() => undefined);
    await db.close();
  }
}

main().catch((error) => {
  console.error(`bench:watchdog failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
