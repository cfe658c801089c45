import { packageRoot } from '../src/util/package-root.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runDemo } from '../src/demo/run-demo.js';
import { createLogger } from '../src/log.js';
import { openDirect } from '../src/warehouse/connection.js';
import { initWarehouse } from '../src/warehouse/init.js';
import { embeddedPaths, ensureEmbedded, readRunning, stopEmbedded } from '../src/postgres/server/embedded.js';
import { outageRoutes, type OutageRoute, type Phase } from './outage-scenario.js';
import { machineLine } from './report.js';
import { makePostgresPair, pairUnavailable } from './postgres-pair.js';

const BIN = path.join(packageRoot, 'bin', 'fxpipe.js');
const DAY_MS = 86_400_000;

/** A warehouse on servers that can be failed, an `fxpipe serve` reading it, and the phases that fail them. */
export interface OutageSetup {
  /** 'standby': Debian PostgreSQL 15 primary + streaming standby; 'single': one embedded server. */
  kind: 'standby' | 'single';
  /** Why there is no standby, when there is none. */
  noStandby: string | null;
  baseUrl: string;
  /** The machine and the PostgreSQL the bench ran on (report.ts, machineLine). */
  machine: string;
  routes: OutageRoute[];
  phases: Phase[];
  close(): Promise<void>;
}

/**
 * With root and Debian's PostgreSQL 15 (or when `standby` is false: never), a primary and a streaming standby, `serve`
 * writing through both (read-write) and reading through both (prefer-standby); otherwise one embedded server of its own,
 * `serve` reading it through DATABASE_URL (so that it does not start it again itself). `days` of the demo's runs loaded.
 */
export async function outageSetup(options: { days: number; standby: boolean }): Promise<OutageSetup> {
  const scratch = mkdtempSync(path.join(process.env.TMPDIR ?? tmpdir(), 'fxpipe-outage-'));
  const noStandby = options.standby ? pairUnavailable() : 'not asked for';
  const cleanups: (() => Promise<unknown>)[] = [async () => rmSync(scratch, { recursive: true, force: true })];
  const close = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  };
  try {
    const end = new Date();
    const from = new Date(end.getTime() - (options.days - 1) * DAY_MS).toISOString().slice(0, 10);
    const to = new Date(end.getTime() - DAY_MS).toISOString().slice(0, 10);
    let machine = '';
    const load = async (url: string, label: string) => {
      const db = await openDirect({ url, label, embedded: false });
      try {
        await initWarehouse(db);
        await runDemo(db, { days: options.days, seed: 27, end, log: createLogger('silent') });
        machine = await machineLine(db, label);
      } finally {
        await db.close();
      }
    };
    let env: Record<string, string>;
    let phases: Phase[];
    if (noStandby === null) {
      const pair = await makePostgresPair();
      cleanups.push(() => pair.drop());
      await load(pair.single('primary'), 'a primary and a streaming standby made for the bench');
      await pair.caughtUp();
      env = { DATABASE_URL: pair.both('read-write', ['primary', 'standby']), FXPIPE_READ_DATABASE_URL: pair.both('prefer-standby') };
      phases = [
        { name: 'nothing failing', readable: true },
        { name: 'primary stopped', readable: true, action: () => pair.stop('primary') },
        { name: 'primary started again', readable: true, action: () => pair.start('primary') },
        { name: 'primary killed (SIGKILL)', readable: true, action: () => pair.kill('primary') },
        { name: 'primary restarted after the kill', readable: true, action: () => pair.start('primary') },
        {
          name: 'primary and standby stopped',
          readable: false,
          action: async () => Promise.all([pair.stop('standby'), pair.stop('primary')]).then(() => undefined),
        },
        {
          name: 'both started again',
          readable: false,
          action: async () => Promise.all([pair.start('primary'), pair.start('standby')]).then(() => undefined),
        },
        {
          name: 'failover: primary stopped, standby promoted',
          readable: true,
          action: async () => {
            await pair.stop('primary');
            await pair.promote('standby');
          },
        },
      ];
    } else {
      const home = path.join(scratch, 'postgres');
      const server = await ensureEmbedded(home);
      cleanups.push(() => stopEmbedded(home));
      await load(server.url, 'an embedded server made for the bench');
      env = { DATABASE_URL: server.url };
      phases = [
        { name: 'nothing failing', readable: true },
        { name: 'PostgreSQL stopped', readable: false, action: async () => void (await stopEmbedded(home)) },
        { name: 'PostgreSQL started again', readable: false, action: async () => void (await ensureEmbedded(home)) },
        { name: 'PostgreSQL killed (SIGKILL)', readable: false, action: () => killEmbedded(home) },
        { name: 'PostgreSQL restarted after the kill', readable: false, action: async () => void (await ensureEmbedded(home)) },
      ];
    }
    const serve = await startServe({
      ...env,
      FXPIPE_HOME: path.join(scratch, 'serve'),
      FXPIPE_LOG_LEVEL: process.env.BENCH_SERVE_LOG ? 'warn' : 'error',
    });
    cleanups.push(() => serve.stop());
    return {
      kind: noStandby === null ? 'standby' : 'single',
      noStandby,
      baseUrl: serve.url,
      machine,
      routes: outageRoutes(from, to),
      phases,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** SIGKILL to the embedded server's postmaster, as a crash; returns once its port is free. */
async function killEmbedded(home: string): Promise<void> {
  const running = await readRunning(embeddedPaths(home).dataDir);
  if (!running) throw new Error('the embedded server is not running');
  process.kill(running.pid, 'SIGKILL');
  for (let tries = 0; tries < 200 && (await readRunning(embeddedPaths(home).dataDir)) !== null; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function startServe(env: Record<string, string>): Promise<{ url: string; stop(): Promise<void> }> {
  const child: ChildProcess = spawn(process.execPath, [BIN, 'serve', '--port', '0'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    err += chunk.toString();
    // BENCH_SERVE_LOG=file: serve's own log, to see why an answer failed.
    if (process.env.BENCH_SERVE_LOG) appendFileSync(process.env.BENCH_SERVE_LOG, chunk);
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`fxpipe serve did not start: ${err}`)), 60_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const found = /http:\/\/127\.0\.0\.1:\d+/.exec(out);
      if (found) {
        clearTimeout(timer);
        resolve(found[0]);
      }
    });
    child.once('exit', () => reject(new Error(`fxpipe serve exited: ${err}`)));
  });
  return {
    url,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}
