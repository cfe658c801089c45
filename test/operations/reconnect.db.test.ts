import { createServer, type AddressInfo, type Socket } from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openDb, resolveTarget, type Target } from '../../src/warehouse/connection.js';
import { DirectDb } from '../../src/warehouse/direct.js';
import { DatabaseLocator, isConnectionError, openLocated, ReconnectingDb } from '../../src/warehouse/reconnect.js';
import { stopEmbedded } from '../../src/postgres/server/embedded.js';
import { closedPortOrigin } from '../helpers/webhook-receiver.js';
import { createTestDatabase, scratchDir, type TestDatabase } from '../helpers/database.js';

/** What a query on a connection another session terminated rejects with. */
async function terminatedQueryError(url: string): Promise<unknown> {
  const victim = new pg.Client({ connectionString: url });
  victim.on('error', () => undefined);
  await victim.connect();
  const killer = new pg.Client({ connectionString: url });
  await killer.connect();
  try {
    const pid = (await victim.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
    const sleeping = victim.query('select pg_sleep(30)').then(
      () => null,
      (error: unknown) => error,
    );
    while (
      (await killer.query(`select 1 from pg_stat_activity where pid = $1 and query like 'select pg_sleep%'`, [pid])).rows.length === 0
    );
    await killer.query('select pg_terminate_backend($1)', [pid]);
    return await sleeping;
  } finally {
    await killer.end();
    await victim.end().catch(() => undefined);
  }
}

describe('reconnecting to the database', () => {
  let database: TestDatabase;
  const opened: ReconnectingDb[] = [];
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterEach(async () => {
    for (const db of opened.splice(0)) await db.close();
  });
  afterAll(async () => {
    await database.drop();
  });

  const fixed = (url: string): DatabaseLocator => {
    const target: Target = { url, label: 'the test database', embedded: false };
    return new DatabaseLocator(async () => target);
  };
  const connect = async (locator: DatabaseLocator, poolSize = 1) => {
    const db = await ReconnectingDb.connect('pooled', locator, (target) => openDb(target, { driver: 'pooled', poolSize }));
    opened.push(db);
    return db;
  };
  const backendPid = async (db: ReconnectingDb) => (await db.query<{ pid: number }>('select pg_backend_pid() as pid'))[0]!.pid;

  it('tells connection failures (refused, terminated) from statement errors', async () => {
    const closed = new URL(await closedPortOrigin());
    const refused = await new pg.Client({ host: closed.hostname, port: Number(closed.port), user: 'x', database: 'x' })
      .connect()
      .catch((e: unknown) => e);
    expect((refused as { code?: string }).code).toBe('ECONNREFUSED');
    expect(isConnectionError(refused)).toBe(true);
    const wrapped = await openDb({ url: `postgresql://x@${closed.host}/x`, label: 'closed', embedded: false }).catch((e: unknown) => e);
    expect(isConnectionError(wrapped)).toBe(true);
    const terminated = await terminatedQueryError(database.url);
    expect((terminated as { code?: string }).code).toBe('57P01');
    expect(isConnectionError(terminated)).toBe(true);

    const db = await database.open();
    const syntax = await db.query('selec 1').catch((e: unknown) => e);
    expect((syntax as { code?: string }).code).toBe('42601');
    expect(isConnectionError(syntax)).toBe(false);
    expect(isConnectionError(new Error('duplicate key value violates unique constraint'))).toBe(false);
  });

  it('keeps its connection through statement errors; after its connection is terminated, a new one serves the next statement', async () => {
    const db = await connect(fixed(database.url));
    const first = await backendPid(db);
    await expect(db.query('select 1/0')).rejects.toMatchObject({ code: '22012' });
    expect(await backendPid(db)).toBe(first);

    let attempts = 0;
    const inTransaction = db.transaction(async (tx) => {
      attempts++;
      await tx.query('select pg_terminate_backend(pg_backend_pid())');
    });
    await expect(inTransaction).rejects.toSatisfy(isConnectionError);
    // A transaction is never repeated behind the caller's back.
    expect(attempts).toBe(1);
    const second = await backendPid(db);
    expect(second).not.toBe(first);
    expect((await db.query<{ n: number }>('select 2 as n'))[0]!.n).toBe(2);
  });

  it('fails with the connection error when the database cannot be reached at all, after its retries; a connect that timed out is not repeated', async () => {
    const closed = new URL(await closedPortOrigin());
    const locator = fixed(`postgresql://fxpipe:secret@${closed.host}/fxpipe`);
    let opens = 0;
    const open = (target: Target) => {
      opens++;
      return openDb(target, { driver: 'pooled' });
    };
    const failure = await ReconnectingDb.connect('pooled', locator, open, { retries: 2, minTimeout: 10, maxTimeout: 10 }).catch(
      (e: unknown) => e,
    );
    expect(opens).toBe(3);
    expect(isConnectionError(failure)).toBe(true);
    expect((failure as Error).message).toMatch(/^cannot connect to PostgreSQL at the test database: .*ECONNREFUSED/);
    expect((failure as Error).message).not.toContain('secret');

    // A server that accepts and never answers: the connect times out once, and that is final.
    const sockets: Socket[] = [];
    const silent = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const hung = fixed(`postgresql://fxpipe@127.0.0.1:${(silent.address() as AddressInfo).port}/fxpipe`);
      const timedOut = await openLocated(
        hung,
        async (target) => {
          const client = new pg.Client({ connectionString: target.url, connectionTimeoutMillis: 300 });
          await client.connect();
          return new DirectDb(client);
        },
        { retries: 3, minTimeout: 10, maxTimeout: 10 },
      ).catch((e: unknown) => e);
      expect(isConnectionError(timedOut)).toBe(true);
      expect(sockets).toHaveLength(1);
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });

  describe('the embedded server', () => {
    const home = path.join(scratchDir(), '.fxpipe');
    afterAll(async () => {
      await stopEmbedded(home).catch(() => undefined);
    });

    it('stopped, is found again (started again by resolving it) and the next statement is answered', async () => {
      const locator = new DatabaseLocator(() => resolveTarget({ home, databaseUrl: undefined, embeddedPort: undefined }));
      const db = await connect(locator, 4);
      await db.query('create table kept (x int)');
      await db.query('insert into kept values ($1)', [7]);
      const before = await locator.current();

      expect(await stopEmbedded(home)).toBe(true);
      // The pool still points at the stopped server; the query reconnects to wherever it is now.
      expect(await db.query<{ x: number }>('select x from kept')).toEqual([{ x: 7 }]);
      const after = await locator.current();
      expect(after).not.toBe(before);
      expect(after.embedded).toBe(true);
    });
  });
});
