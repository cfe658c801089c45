import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { asPostgres, debianUnavailable, postgresUid as postgresUserId } from '../src/postgres/server/debian.js';

/**
 * A primary and a streaming hot standby of Debian's PostgreSQL 15 (initdb, pg_basebackup -R) on free loopback ports,
 * for the tests and benchmarks of what happens when a server fails (test/operations/standby.e2e.test.ts,
 * npm run bench:outage). As root only: PostgreSQL's programs run as the postgres user (runuser).
 */
const execFileP = promisify(execFile);

export type Server = 'primary' | 'standby';

export interface PostgresPair {
  dir: string;
  user: string;
  database: string;
  password: string;
  port: Record<Server, number>;
  /** One host's URL, as a user with one server writes it. */
  single(server: Server, database?: string): string;
  /** Both hosts in the order given (the standby first by default), with target_session_attrs. */
  both(attrs: string, order?: Server[]): string;
  start(server: Server): Promise<void>;
  stop(server: Server, mode?: 'fast' | 'immediate'): Promise<void>;
  /** SIGKILL to the server's postmaster, as a crash: its data directory is left as it was. */
  kill(server: Server): Promise<void>;
  promote(server: Server): Promise<void>;
  /** Waits until the standby has replayed everything the primary has written so far. */
  caughtUp(): Promise<void>;
  drop(): Promise<void>;
}

/** Why a pair cannot be made here, or null when it can. */
export function pairUnavailable(): string | null {
  return debianUnavailable(['initdb', 'pg_ctl', 'pg_basebackup']);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function makePostgresPair(options: { user?: string; database?: string } = {}): Promise<PostgresPair> {
  const user = options.user ?? 'fxpipe_ha';
  const database = options.database ?? 'fxpipe';
  const dir = mkdtempSync(path.join(process.env.TMPDIR ?? tmpdir(), 'fxpipe-pair-'));
  chmodSync(dir, 0o755);
  const postgresUid = await postgresUserId();
  chownSync(dir, postgresUid, -1);
  const password = randomBytes(12).toString('hex');
  const pwfile = path.join(dir, 'pwfile');
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  chownSync(pwfile, postgresUid, -1);
  const port: Record<Server, number> = { primary: await freePort(), standby: await freePort() };
  const data = (server: Server) => path.join(dir, server);
  const url = (servers: Server[], query = '', name = database) =>
    `postgres://${user}:${password}@${servers.map((s) => `127.0.0.1:${port[s]}`).join(',')}/${name}${query}`;
  const pair: PostgresPair = {
    dir,
    user,
    database,
    password,
    port,
    single: (server, name = database) => url([server], '', name),
    both: (attrs, order = ['standby', 'primary']) => url(order, `?target_session_attrs=${attrs}`),
    start: (server) =>
      asPostgres('pg_ctl', [
        '-D',
        data(server),
        '-l',
        path.join(dir, `${server}.log`),
        '-w',
        '-t',
        '60',
        '-o',
        `-p ${port[server]} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c synchronous_commit=off -c jit=off`,
        'start',
      ]),
    stop: (server, mode = 'fast') => asPostgres('pg_ctl', ['-D', data(server), '-m', mode, '-w', 'stop']),
    async kill(server) {
      const pid = Number((await execFileP('head', ['-1', path.join(data(server), 'postmaster.pid')])).stdout.trim());
      process.kill(pid, 'SIGKILL');
      // Started again only once the killed postmaster is gone from the process table (not even a zombie: its lock file
      // would name a live pid) and its port is free (its backends end when they notice it gone).
      for (let tries = 0; tries < 400 && (existsSync(`/proc/${pid}`) || (await portTaken(port[server]))); tries++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    promote: (server) => asPostgres('pg_ctl', ['-D', data(server), '-w', 'promote']),
    async caughtUp() {
      const { lsn } = (await withClient(url(['primary']), (c) => c.query<{ lsn: string }>('select pg_current_wal_lsn()::text as lsn')))
        .rows[0]!;
      await withClient(url(['standby']), async (client) => {
        for (let tries = 0; tries < 600; tries++) {
          const { rows } = await client.query<{ done: boolean }>('select pg_last_wal_replay_lsn() >= $1::pg_lsn as done', [lsn]);
          if (rows[0]!.done) return;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        throw new Error(`the standby did not replay up to ${lsn} within 30 s`);
      });
    },
    async drop() {
      for (const server of ['standby', 'primary'] as const) await pair.stop(server, 'immediate').catch(() => undefined);
      // BENCH_PG_LOGS=dir: the servers' own logs kept there, to see what they did.
      if (process.env.BENCH_PG_LOGS) {
        for (const server of ['standby', 'primary'] as const) {
          copyFileSync(path.join(dir, `${server}.log`), path.join(process.env.BENCH_PG_LOGS, `${server}.log`));
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    // Password authentication over TCP, replication included (initdb's pg_hba.conf allows it from loopback).
    await asPostgres('initdb', [
      '-D',
      data('primary'),
      '-U',
      user,
      `--pwfile=${pwfile}`,
      '--auth-local=trust',
      '--auth-host=scram-sha-256',
      '-E',
      'UTF8',
      '--locale=C.UTF-8',
      '-N',
    ]);
    await pair.start('primary');
    await withClient(url(['primary'], '', 'postgres'), (client) => client.query(`create database ${database}`));
    await asPostgres(
      'pg_basebackup',
      ['-h', '127.0.0.1', '-p', String(port.primary), '-U', user, '-D', data('standby'), '-R', '-X', 'stream', '-c', 'fast'],
      { PGPASSWORD: password },
    );
    await pair.start('standby');
  } catch (error) {
    await pair.drop();
    throw error;
  }
  return pair;
}

async function portTaken(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(true));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(false)));
  });
}
