import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopEmbedded } from '../../src/postgres/server/embedded.js';
import { runningWatchdog } from '../../src/postgres/server/watchdog.js';
import { finished, runCli, startCli, waitForOutput } from '../helpers/cli.js';
import { scratchDir } from '../helpers/database.js';
import { matcher } from '../helpers/matcher.js';
import { connect, passwordFile, sqlState, uniqueRole, urlAs } from './support.js';

interface Check {
  name: string;
  ok: boolean | null;
  detail: string;
}

/**
 * A reader on the embedded server, which is fxpipe's own, confined on the whole server: no other database (postgres and
 * the templates included), TEMP nowhere, its memory measured by the watchdog, and that watchdog kept alive by a
 * long-running fxpipe. A server of its own: these tests open databases to PUBLIC and kill the watchdog.
 */
describe.skipIf(process.env.DATABASE_URL)('readers confined on the whole embedded server', () => {
  const home = path.join(scratchDir(), '.fxpipe');
  const env = { FXPIPE_HOME: home };
  let ownerUrl: string;
  let owner: pg.Client;
  const password = (role: string) => `pw-${role}`;

  async function grant(role: string, ...extra: string[]) {
    const result = await runCli(['db', 'grant-reader', role, '--password-file', passwordFile(password(role)), ...extra], { env });
    expect(result.code, result.stderr).toBe(0);
    return result;
  }
  const readerUrl = (role: string, database = 'fxpipe') => {
    const url = new URL(urlAs(ownerUrl, role, password(role)));
    url.pathname = `/${database}`;
    return url.toString();
  };
  const connectError = (url: string) =>
    connect(url).then(
      async (client) => {
        await client.end();
        return 'connected';
      },
      (error: { code?: string }) => error.code,
    );

  beforeAll(async () => {
    expect((await runCli(['db', 'init'], { env })).code).toBe(0);
    ownerUrl = (await runCli(['db', 'url'], { env })).stdout.trim();
    owner = await connect(ownerUrl);
  });
  afterAll(async () => {
    await owner?.end();
    await stopEmbedded(home);
  });

  it('a reader connects to its own database only: postgres and template1 refuse it (42501), and it creates no temporary table', async () => {
    const role = uniqueRole();
    await grant(role);
    expect(await connectError(readerUrl(role, 'postgres'))).toBe('42501');
    expect(await connectError(readerUrl(role, 'template1'))).toBe('42501');
    expect(await connectError(readerUrl(role, 'template0'))).toBe('55000');
    const reader = await connect(readerUrl(role));
    try {
      expect(await sqlState(reader, 'create temp table scratch (a int)')).toBe('42501');
      expect(await sqlState(reader, 'select pg_advisory_lock(1)')).toBe('42501');
    } finally {
      await reader.end();
    }
    // fxpipe's own role keeps its admin connection to postgres.
    expect(await connectError(ownerUrl.replace(/\/fxpipe$/, '/postgres'))).toBe('connected');
  });

  it('a database made by hand later: DATABASE_URL grant-reader and check-remote name it with the fix; grant-reader on the embedded server closes it', async () => {
    const role = uniqueRole();
    await grant(role);
    const extra = `fxextra_${role.slice(4)}`;
    await owner.query(`create database ${extra}`);
    try {
      expect(await connectError(readerUrl(role, extra))).toBe('connected');
      // As fxpipe on a server that is not its own: nothing changed, and the fix named.
      const refused = await runCli(['db', 'grant-reader', role], { env: { DATABASE_URL: ownerUrl } });
      expect(refused.code).toBe(2);
      expect(refused.stderr.trim().split('\n')).toEqual([
        `fxpipe: ${role} would be able to do more than read schema api, so nothing was changed: ` +
          `CONNECT on database ${extra} through PUBLIC (fix: revoke connect, temporary on database ${extra} from public)`,
      ]);
      const port = new URL(ownerUrl).port;
      const checkRemote = () =>
        runCli(
          [
            'db',
            'check-remote',
            '--host',
            '127.0.0.1',
            '--port',
            port,
            '--user',
            role,
            '--password-file',
            passwordFile(password(role)),
            '--json',
          ],
          { env },
        );
      const open = JSON.parse((await checkRemote()).stdout) as { checks: Check[] };
      expect(open.checks.find((c) => c.name === 'other databases')).toEqual({
        name: 'other databases',
        ok: false,
        detail: `${role} connects to ${extra} (fix, as their owner: revoke connect, temporary on database ${extra} from public)`,
      });
      expect(open.checks.find((c) => c.name === 'temp file limit')).toMatchObject({
        ok: true,
        detail: matcher.stringMatching(/^temporary files up to 1GB a session/),
      });

      const closed = await runCli(['db', 'grant-reader', role, '--json'], { env });
      expect(closed.code, closed.stderr).toBe(0);
      expect(JSON.parse(closed.stdout)).toMatchObject({ closedDatabases: [extra], memoryLimitEnforced: true });
      expect(await connectError(readerUrl(role, extra))).toBe('42501');
      const shut = JSON.parse((await checkRemote()).stdout) as { checks: Check[] };
      expect(shut.checks.find((c) => c.name === 'other databases')).toMatchObject({
        ok: true,
        detail: matcher.stringMatching(new RegExp(`^${role} connects to no other database \\(tried (\\w+, )*${extra}`)),
      });
    } finally {
      await owner.query(`drop database ${extra} with (force)`);
    }
  });

  it("the watchdog ends a reader session holding more memory than the reader's --memory-limit, whatever work_mem says", async () => {
    const role = uniqueRole();
    const granted = await grant(role, '--memory-limit', '64MB');
    expect(granted.stdout).toContain('memory up to 64 MB a session (enforced by the watchdog');
    const reader = await connect(readerUrl(role));
    try {
      await reader.query(`set work_mem = '2GB'`);
      const started = Date.now();
      // A 160 MB value held while pg_sleep runs: no work_mem setting bounds it.
      const error = await reader
        .query(`select length(r), pg_sleep(25) from (select repeat(repeat('x', 1048576), 160) as r offset 0) s`)
        .catch((e: pg.DatabaseError) => e);
      expect(error).toMatchObject({ code: '57P01' });
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      await reader.end().catch(() => undefined);
    }
    const log = readFileSync(path.join(home, 'watchdog.log'), 'utf8');
    expect(log).toMatch(new RegExp(`"role":"${role}".*"reason":"memory","memoryMb":\\d+.*held more memory than the reader's memory limit`));
    // The owner's sessions are nobody's business but its own.
    expect((await owner.query<{ n: number }>(`select length(repeat(repeat('x', 1048576), 300)) as n`)).rows[0]!.n).toBe(314_572_800);
  }, 60_000);

  it('serve keeps the watchdog alive: killed while serve runs, it is back within seconds and cancels a lifted timeout again', async () => {
    const role = uniqueRole();
    await grant(role, '--statement-timeout', '1s');
    const serve = startCli(['serve', '--port', '0'], { env: { ...env, FXPIPE_LOG_LEVEL: 'warn' } });
    try {
      await waitForOutput(serve, 'fxpipe serve: http://');
      const killed = (await runningWatchdog(home))!;
      expect(killed).not.toBeNull();
      process.kill(killed, 'SIGKILL');
      let restarted: number | null = null;
      for (let i = 0; i < 100 && (restarted === null || restarted === killed); i++) {
        await sleep(100);
        restarted = await runningWatchdog(home);
      }
      expect(restarted).not.toBeNull();
      expect(restarted).not.toBe(killed);
      for (let i = 0; i < 50 && !serve.out.stderr.includes('reader watchdog was not running'); i++) await sleep(100);
      expect(serve.out.stderr).toContain("the embedded server's reader watchdog was not running: started it again");
      const reader = await connect(readerUrl(role));
      try {
        await reader.query('set statement_timeout = 0');
        const started = Date.now();
        expect(await sqlState(reader, 'select pg_sleep(30)')).toBe('57014');
        expect(Date.now() - started).toBeLessThan(10_000);
      } finally {
        await reader.end();
      }
    } finally {
      serve.kill('SIGINT');
      expect((await finished(serve)).code).toBe(0);
    }
  }, 60_000);
});
