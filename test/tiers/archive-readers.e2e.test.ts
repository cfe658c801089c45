import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cutoffDay } from '../../src/tiers/age.js';
import { lastDay } from '../../src/calendar/months.js';
import { finished, startCli } from '../helpers/cli.js';
import { scratchDir } from '../helpers/database.js';
import { startServe, type Served } from '../serve/support.js';
import { loadedWarehouse, partitionCounts, type Warehouse } from './support.js';

/**
 * archive and restore while readers read: readers never get an error (no deadlock victim, no 500) and the
 * archive finishes. See docs/tiering.md, "Locks".
 */

interface MonthJson {
  month: string;
  outcome: string;
}

/** What serve's readers ask while months move: convert in archived and hot months, a pair's history over both tiers. */
function readerPaths(): string[] {
  const recent = new Date(Date.now() - 20 * 86_400_000).toISOString();
  const today = new Date().toISOString().slice(0, 10);
  return [
    '/api/v1/convert?from=EUR&to=JPY&amount=100&at=2022-03-15T12:00:00Z',
    '/api/v1/convert?from=GBP&to=USD&amount=250&at=2023-07-03T18:00:00Z',
    `/api/v1/convert?from=EUR&to=JPY&amount=100&at=${recent}`,
    `/api/v1/history?pair=EUR/JPY&from=2022-01-01&to=${today}&interval=month`,
    '/api/v1/history?pair=USD/GBP&from=2023-01-01&to=2023-06-30',
  ];
}

/** An answer without what says which tier it came from (the same rule answers on both). */
function tierless(body: unknown): unknown {
  return JSON.parse(JSON.stringify(body), (key, value: unknown) => (key === 'tier' || key === 'archived' ? undefined : value));
}

/**
 * Readers hammering serve until stop() is called: every answer must be 200 and equal (tier aside) to the answer
 * before anything moved. stop() returns the failures and how many requests were answered.
 */
function hammer(url: string, expected: Map<string, unknown>, concurrency: number) {
  let stopping = false;
  const failures: string[] = [];
  let answered = 0;
  const paths = [...expected.keys()];
  const loops = Array.from({ length: concurrency }, async (_, i) => {
    for (let n = i; !stopping; n++) {
      const path = paths[n % paths.length]!;
      const response = await fetch(`${url}${path}`);
      const text = await response.text();
      answered++;
      if (response.status !== 200) failures.push(`${path}: ${response.status} ${text}`);
      else if (JSON.stringify(tierless(JSON.parse(text))) !== JSON.stringify(expected.get(path)))
        failures.push(`${path}: a different answer ${text.slice(0, 300)}`);
    }
  });
  return {
    async stop() {
      stopping = true;
      await Promise.all(loops);
      return { failures, answered };
    },
  };
}

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>): Promise<T> {
  for (let i = 0; i < 3000; i++) {
    const found = await probe();
    if (found) return found;
    await sleep(20);
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe('archive and restore while readers read', () => {
  const dir = scratchDir('fxpipe-readers-');
  const cutoff = cutoffDay('90d', new Date());
  let w: Warehouse;
  let served: Served;
  let counts: Map<string, number>;
  let oldMonths: string[];
  /** The newest archived months: restoring them leaves no archived month between hot ones. */
  const restored = () => oldMonths.slice(-3);
  const expected = new Map<string, unknown>();

  beforeAll(async () => {
    w = await loadedWarehouse(dir);
    counts = await partitionCounts(w.db);
    oldMonths = [...counts.keys()].filter((month) => lastDay(month) < cutoff);
    served = await startServe(w.database, w.home);
    for (const path of readerPaths()) {
      const response = await fetch(`${served.url}${path}`);
      expect(response.status, path).toBe(200);
      expected.set(path, tierless(await response.json()));
    }
  }, 300_000);

  afterAll(async () => {
    await served?.stop();
    await w?.database.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const detachedTables = async () =>
    (await w.db.query<{ name: string }>(`select relname as name from pg_class where relname ~ '^fact_rates_archived_' order by 1`)).map(
      (r) => r.name,
    );

  it('archives every old month while readers hammer convert and history: no reader error, every month archived', async () => {
    expect(oldMonths.length).toBeGreaterThan(40);
    const readers = hammer(served.url, expected, 4);
    const archived = await w.cli(['archive', '--older-than', '90d', '--json']);
    const { failures, answered } = await readers.stop();
    expect(failures.join('\n')).toBe('');
    expect(answered).toBeGreaterThan(0);
    expect(archived.stderr).toBe('');
    expect(archived.code).toBe(0);
    expect((JSON.parse(archived.stdout) as { months: MonthJson[] }).months.map((m) => [m.month, m.outcome])).toEqual(
      oldMonths.map((m) => [m, 'archived']),
    );
    expect(await detachedTables()).toEqual([]);
    expect(served.stderr()).not.toMatch(/deadlock/);
  }, 600_000);

  it('restores months while readers hammer: no reader error, the rows back', async () => {
    const readers = hammer(served.url, expected, 4);
    const results = [];
    for (const month of restored()) results.push([month, await w.cli(['restore', month, '--json'])] as const);
    const { failures } = await readers.stop();
    expect(failures.join('\n')).toBe('');
    for (const [month, result] of results) {
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ month, outcome: 'restored', inserted: counts.get(month) });
    }
  }, 600_000);

  it('a reader holding dim_currency, as api.usd_rate does before it reads history, neither fails nor fails the archive', async () => {
    // api.convert at a hot time, the way serve asks it; its answer before anything moves.
    const at = new Date(Date.now() - 20 * 86_400_000).toISOString();
    const convertSql = `select rate::text as rate, converted::text as converted from api.convert(100, 'EUR', 'JPY', $1::timestamptz)`;
    const [answer] = await w.db.query(convertSql, [at]);
    expect(answer).toBeDefined();

    const reader = new pg.Client({ connectionString: w.database.url });
    await reader.connect();
    try {
      const pid = (await reader.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
      // api.usd_rate's first statement: dim_currency stays locked (ACCESS SHARE) until the reader's transaction ends.
      await reader.query('begin');
      await reader.query(`select currency_id from dim_currency where currency_code = 'USD'`);

      const archive = startCli(['archive', '--older-than', '90d', '--json'], { env: w.env });
      try {
        // The archive has moved a month, or waits for the reader's lock (it cannot move one without it).
        await until('the archive to archive a month or wait for the reader', async () => {
          const [state] = await w.db.query<{ archived: boolean; waiting: boolean }>(
            `select exists (select 1 from archive_manifest where state = 'archived' and to_char(month, 'YYYY-MM') = any($2::text[])) as archived,
                    exists (select 1 from pg_stat_activity where $1 = any(pg_blocking_pids(pid))) as waiting`,
            [pid, restored()],
          );
          return state!.archived || state!.waiting;
        });
        // The month is detached and archived; its drop waits for the reader (dropping takes dim_currency).
        expect((await detachedTables()).length).toBeGreaterThan(0);
        // The rest of the reader's query: the history. It must answer, not be chosen as a deadlock victim.
        const { rows } = await reader.query(convertSql, [at]);
        expect(rows).toEqual([answer]);
        await reader.query('commit');

        const result = await finished(archive, 300_000);
        expect(result.stderr).toBe('');
        expect(result.code).toBe(0);
        expect((JSON.parse(result.stdout) as { months: MonthJson[] }).months.map((m) => [m.month, m.outcome])).toEqual(
          restored().map((m) => [m, 'archived']),
        );
      } finally {
        archive.kill('SIGKILL');
      }
    } finally {
      await reader.end();
    }
    expect(await detachedTables()).toEqual([]);
    const after = await partitionCounts(w.db);
    expect([...after.keys()]).toEqual([...counts.keys()].filter((month) => !oldMonths.includes(month)));
  }, 600_000);

  it('a detached partition a kill left behind is dropped by the next archive', async () => {
    const month = restored().at(-1)!;
    expect((await w.cli(['restore', month])).code).toBe(0);
    const reader = new pg.Client({ connectionString: w.database.url });
    await reader.connect();
    try {
      await reader.query('begin');
      await reader.query(`select currency_id from dim_currency where currency_code = 'USD'`);
      const archive = startCli(['archive', '--older-than', '90d', '--json'], { env: w.env });
      // Archived and detached; the drop cannot have its lock while the reader holds dim_currency: killed there.
      await until('the month to be detached', async () => (await detachedTables()).length > 0);
      archive.kill('SIGKILL');
      await finished(archive);
      // Its drop transaction, if one was waiting, can never commit now: the reader lets go.
      await reader.query('commit');
    } finally {
      await reader.end();
    }
    expect(await detachedTables()).toEqual([
      expect.stringMatching(new RegExp(`^fact_rates_archived_y${month.slice(0, 4)}m${month.slice(5)}_\\d+$`)),
    ]);
    expect(await w.db.query(`select state from archive_manifest where month = $1::date`, [`${month}-01`])).toEqual([{ state: 'archived' }]);
    expect((await partitionCounts(w.db)).has(month)).toBe(false);

    const rerun = await w.cli(['archive', '--older-than', '90d', '--json']);
    expect(rerun.stderr).toBe('');
    expect(rerun.code).toBe(0);
    expect((JSON.parse(rerun.stdout) as { months: MonthJson[] }).months).toEqual([]);
    expect(await detachedTables()).toEqual([]);
  }, 300_000);
});
