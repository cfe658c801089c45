import { appendFileSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { migrationFiles } from '../../src/warehouse/migrations.js';
import { embeddedPaths, readRunning, stopEmbedded } from '../../src/postgres/server/embedded.js';
import { finished, runCli, startCli, waitForOutput } from '../helpers/cli.js';
import { scratchDir } from '../helpers/database.js';

async function tablesAt(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ t: string }>(`select tablename as t from pg_tables where schemaname = 'public' order by 1`);
    return rows.map((r) => r.t);
  } finally {
    await client.end();
  }
}

describe('the embedded PostgreSQL', () => {
  const homes: string[] = [];
  const home = () => {
    const dir = path.join(scratchDir(), '.fxpipe');
    homes.push(dir);
    return dir;
  };
  afterEach(async () => {
    for (const dir of homes.splice(0)) await stopEmbedded(dir).catch(() => undefined);
  });

  it('starts on first use, keeps a user-only password file, and db url gives a string psql-style clients can use', async () => {
    const dir = home();
    const init = await runCli(['db', 'init'], { env: { FXPIPE_HOME: dir } });
    expect(init.stderr).toBe('');
    expect(init.code).toBe(0);
    const paths = embeddedPaths(dir);
    expect(statSync(paths.passwordFile).mode & 0o777).toBe(0o600);
    expect(statSync(paths.dataDir).mode & 0o777).toBe(0o700);
    const url = (await runCli(['db', 'url'], { env: { FXPIPE_HOME: dir } })).stdout.trim();
    expect(url).toMatch(/^postgresql:\/\/fxpipe:[^@]+@127\.0\.0\.1:\d+\/fxpipe$/);
    expect(await tablesAt(url)).toContain('fact_rates_history');
    const again = await runCli(['db', 'init'], { env: { FXPIPE_HOME: dir } });
    expect(again.stdout).toMatch(/^Nothing to do/);
  });

  it('two processes at once on a fresh FXPIPE_HOME both succeed against one server', async () => {
    const dir = home();
    const [a, b] = await Promise.all([
      runCli(['db', 'init'], { env: { FXPIPE_HOME: dir } }),
      runCli(['db', 'init', '--driver', 'pooled'], { env: { FXPIPE_HOME: dir } }),
    ]);
    expect([a.code, b.code, a.stderr, b.stderr]).toEqual([0, 0, '', '']);
    // Between them they apply each migration exactly once (the direct path locks per migration, so they may split them).
    const total = migrationFiles().length;
    const applied = [a.stdout, b.stdout].map((out) => Number(new RegExp(`^Applied (\\d+) of ${total}`).exec(out)?.[1] ?? 0));
    expect(applied[0]! + applied[1]!).toBe(total);
    expect(readdirSync(dir).sort()).toEqual(['password', 'pgdata', 'port', 'tls', 'watchdog.log', 'watchdog.pid']);
  });

  // Five rounds of three commands: over a minute on two busy cores.
  it('kill -9 of one process mid-start leaves the other and the next command working', { timeout: 300_000 }, async () => {
    for (const delay of [100, 400, 800, 1200, 1800]) {
      const dir = home();
      const victim = startCli(['db', 'init'], { env: { FXPIPE_HOME: dir } });
      const survivor = startCli(['db', 'init'], { env: { FXPIPE_HOME: dir } });
      await sleep(delay);
      victim.kill('SIGKILL');
      const result = await finished(survivor, 120_000);
      expect(result.stderr, `killed after ${delay} ms`).toBe('');
      expect(result.code).toBe(0);
      const next = await runCli(['db', 'init'], { env: { FXPIPE_HOME: dir } });
      expect(next.code).toBe(0);
      expect(next.stdout).toMatch(/^Nothing to do/);
      expect(readdirSync(dir).filter((f) => f.includes('.init-'))).toEqual([]);
    }
  });

  it('kill -9 of a command leaves the server running for the next one', async () => {
    const dir = home();
    await runCli(['db', 'init'], { env: { FXPIPE_HOME: dir } });
    const victim = startCli(['db', 'init'], { env: { FXPIPE_HOME: dir } });
    await sleep(250);
    victim.kill('SIGKILL');
    await finished(victim);
    expect((await readRunning(embeddedPaths(dir).dataDir))?.status).toBe('ready');
    const next = await runCli(['db', 'init'], { env: { FXPIPE_HOME: dir } });
    expect(next.code).toBe(0);
  });

  it('db start runs in the foreground, prints the connection string, and Ctrl-C stops the server it started', async () => {
    const dir = home();
    const server = startCli(['db', 'start'], { env: { FXPIPE_HOME: dir } });
    await waitForOutput(server, 'Press Ctrl-C to stop it.');
    const url = server.out.stdout.split('\n').find((line) => line.startsWith('postgresql://'))!;
    expect((await runCli(['db', 'url'], { env: { FXPIPE_HOME: dir } })).stdout.trim()).toBe(url);
    await runCli(['db', 'init'], { env: { FXPIPE_HOME: dir } });
    expect(await tablesAt(url)).toContain('dim_currency');
    server.kill('SIGINT');
    const result = await finished(server);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Stopped.');
    expect(await readRunning(embeddedPaths(dir).dataDir)).toBeNull();
  });

  it('db stop stops it; a server that then cannot start names its log and quotes its own FATAL line; the next command starts it again with the same data', async () => {
    const dir = home();
    await runCli(['db', 'init'], { env: { FXPIPE_HOME: dir } });
    const stop = await runCli(['db', 'stop'], { env: { FXPIPE_HOME: dir } });
    expect(stop.stdout).toContain('Stopped the embedded PostgreSQL.');
    const { dataDir, logFile, lockFile } = embeddedPaths(dir);
    expect(await readRunning(dataDir)).toBeNull();
    expect((await runCli(['db', 'stop'], { env: { FXPIPE_HOME: dir } })).stdout).toContain('not running');

    // A setting the server refuses: the error quotes the server's own lines, not pg_ctl's "Examine the log output".
    const conf = path.join(dataDir, 'postgresql.conf');
    const settings = readFileSync(conf, 'utf8');
    appendFileSync(conf, "shared_buffers = 'plenty'\n");
    const result = await runCli(['db', 'url'], { env: { FXPIPE_HOME: dir } });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`could not start the embedded PostgreSQL in ${dataDir}: `);
    expect(lines[0]).toContain('LOG: invalid value for parameter "shared_buffers": "plenty"; FATAL: configuration file');
    expect(lines[0]).toContain(`(log: ${logFile})`);
    expect(lines[0]).not.toContain('Examine the log output');
    expect(await readRunning(dataDir)).toBeNull();

    writeFileSync(conf, settings);
    const url = (await runCli(['db', 'url'], { env: { FXPIPE_HOME: dir } })).stdout.trim();
    expect(await tablesAt(url)).toContain('pipeline_runs');
    expect(existsSync(lockFile)).toBe(false);
  });

  it('keeps the port it first started on across stops; --port and FXPIPE_PORT move it; a port taken at start is exit 2 naming it', async () => {
    const dir = home();
    const env = { FXPIPE_HOME: dir };
    const first = new URL((await runCli(['db', 'url'], { env })).stdout.trim());
    const { portFile } = embeddedPaths(dir);
    expect(readFileSync(portFile, 'utf8').trim()).toBe(first.port);
    for (let i = 0; i < 2; i++) {
      expect((await runCli(['db', 'stop'], { env })).stdout).toContain('Stopped');
      expect(new URL((await runCli(['db', 'url'], { env })).stdout.trim()).port).toBe(first.port);
    }

    // Another program holds the port while the server is down: fxpipe says so and does not move.
    expect((await runCli(['db', 'stop'], { env })).stdout).toContain('Stopped');
    const squatter = net.createServer();
    await new Promise<void>((resolve) => squatter.listen(Number(first.port), '127.0.0.1', resolve));
    try {
      const taken = await runCli(['db', 'url'], { env });
      expect(taken.code).toBe(2);
      expect(taken.stdout).toBe('');
      expect(taken.stderr).toBe(
        `fxpipe: port ${first.port} on 127.0.0.1 is taken by another program: the embedded server keeps the port it first started on (${portFile}); free it, or choose another with --port N or FXPIPE_PORT\n`,
      );
      expect(readFileSync(portFile, 'utf8').trim()).toBe(first.port);

      // FXPIPE_PORT chooses another, which is kept from then on.
      const free = net.createServer();
      await new Promise<void>((resolve) => free.listen(0, '127.0.0.1', resolve));
      const other = (free.address() as net.AddressInfo).port;
      await new Promise((resolve) => free.close(resolve));
      const moved = new URL((await runCli(['db', 'url'], { env: { ...env, FXPIPE_PORT: String(other) } })).stdout.trim());
      expect(moved.port).toBe(String(other));
      expect(readFileSync(portFile, 'utf8').trim()).toBe(String(other));
      expect((await runCli(['db', 'stop'], { env })).stdout).toContain('Stopped');
      expect(new URL((await runCli(['db', 'url'], { env })).stdout.trim()).port).toBe(String(other));
    } finally {
      squatter.close();
    }
    const bad = await runCli(['db', 'url'], { env: { ...env, FXPIPE_PORT: '70000' } });
    expect(bad).toMatchObject({
      code: 2,
      stderr: 'fxpipe: invalid setting FXPIPE_PORT: "70000" expected port number between 1 and 65535\n',
    });
  });
});
