import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dateKeyOf } from '../../src/calendar/days.js';
import { hashSeed, mulberry32 } from '../../src/demo/prng.js';
import { RateDecimal } from '../../src/transform/decimal.js';
import { checkProductionRates } from '../../src/verify/check.js';
import { parseProductionRates } from '../../src/verify/production-rates.js';
import { bulkLoadHistory, type HistoryRow } from '../../src/warehouse/bulk-load.js';
import { advanceCurrentFromHistory } from '../../bench/current-from-history.js';
import { upsertCurrencies, upsertSource } from '../../src/warehouse/dimensions.js';
import type { DirectDb } from '../../src/warehouse/direct.js';
import { initWarehouse } from '../../src/warehouse/init.js';
import { ensurePartitions } from '../../src/warehouse/partitions.js';
import { finished, runCli, startCli } from '../helpers/cli.js';
import { createTestDatabase, scratchDir, type TestDatabase } from '../helpers/database.js';
import { startServe, type Served } from '../serve/support.js';
import { LEVELS, QUOTES, SOURCES } from './support.js';

/**
 * A check is bounded whatever the caller sends or does (issue 26): its work grows linearly with its rows, a killed
 * or abandoned check leaves no statement running and no lock held, and serve keeps answering its read routes while
 * many large checks are posted at once.
 *
 * The warehouse: three sources publishing 20 currencies every 4 hours for the last 10 days, up to now.
 */
const HOUR = 3_600_000;
const END = Math.floor(Date.now() / (4 * HOUR)) * 4 * HOUR;
const START = END - 10 * 24 * HOUR;
const SLOTS = Array.from({ length: (END - START) / (4 * HOUR) + 1 }, (_, i) => START + i * 4 * HOUR);
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** n production rows: random pairs at random instants of the 10 days, the rate near the pair's level. */
function productionCsv(n: number, seed: number): string {
  const rng = mulberry32(hashSeed(seed));
  const codes = ['USD', ...QUOTES];
  const level = (code: string) => new RateDecimal(code === 'USD' ? '1' : LEVELS[QUOTES.indexOf(code)]!);
  const lines = ['base,quote,rate,at'];
  for (let i = 0; i < n; i++) {
    const base = codes[Math.floor(rng() * codes.length)]!;
    let quote = codes[Math.floor(rng() * codes.length)]!;
    while (quote === base) quote = codes[Math.floor(rng() * codes.length)]!;
    const at = new Date(START + Math.floor(rng() * (END - START)));
    lines.push(`${base},${quote},${level(quote).div(level(base)).toSignificantDigits(8).toFixed()},${at.toISOString()}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Every tuple a plan handled: each node's rows times its loops, and the rows its filters removed (auto_explain's JSON). */
function tuples(plan: Record<string, unknown>): number {
  const own =
    Number(plan['Actual Rows'] ?? 0) * Number(plan['Actual Loops'] ?? 0) +
    Number(plan['Rows Removed by Filter'] ?? 0) +
    Number(plan['Rows Removed by Join Filter'] ?? 0);
  return own + ((plan.Plans as Record<string, unknown>[] | undefined) ?? []).reduce((sum, child) => sum + tuples(child), 0);
}

describe('fxpipe verify: bounded', () => {
  let database: TestDatabase;
  let db: DirectDb;
  let dir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = await database.open();
    await initWarehouse(db);
    const ids = await upsertCurrencies(db, ['USD', ...QUOTES]);
    await ensurePartitions(db, isoDay(START), isoDay(END));
    const usd = ids.get('USD')!;
    for (const [source, factor] of Object.entries(SOURCES)) {
      const sourceId = await upsertSource(db, source, 'reference', `https://example.invalid/${source}`);
      // Every slot moves every rate a little, so every publication has history rows of its own.
      const history: HistoryRow[] = SLOTS.flatMap((slot, k) =>
        QUOTES.map((quote, i) => ({
          dateKey: dateKeyOf(isoDay(slot)),
          baseId: usd,
          quoteId: ids.get(quote)!,
          sourceId,
          rateTimestamp: new Date(slot).toISOString(),
          rate: new RateDecimal(LEVELS[i]!)
            .times(factor)
            .times(new RateDecimal(1).plus(new RateDecimal(k % 7).div(10_000)))
            .toSignificantDigits(8)
            .toFixed(),
          previousRate: null,
          changePct: null,
        })),
      );
      await bulkLoadHistory(db, history, { extractionId: null, runId: randomUUID(), nothingStored: true });
      await db.query('select fx_derive_publications($1::smallint)', [sourceId]);
      await advanceCurrentFromHistory(db, {
        baseId: usd,
        sourceId,
        fromDateKey: dateKeyOf(isoDay(START)),
        toDateKey: dateKeyOf(isoDay(END)),
        now: new Date(),
      });
    }
    dir = scratchDir('fxpipe-verify-bounds-');
    env = { DATABASE_URL: database.url, FXPIPE_HOME: path.join(dir, 'home') };
  }, 120_000);

  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });

  const file = (name: string, text: string) => {
    const at = path.join(dir, name);
    writeFileSync(at, text);
    return at;
  };
  /** The backends of other sessions running a check's statements, and the locks held on production_checks. */
  const checking = async () =>
    (
      await db.query<{ n: number }>(
        `select count(*)::int as n from pg_stat_activity
      where datname = current_database() and pid <> pg_backend_pid() and state <> 'idle'
        and (query ilike '%fxpipe_check%' or query ilike '%fx_consensus%' or query ilike '%production_checks%')`,
      )
    )[0]!.n;
  /** A check's statement running for half a second already: the check is computing, not sending its rows. */
  const computing = async () =>
    (
      await db.query<{ n: number }>(
        `select count(*)::int as n from pg_stat_activity
      where datname = current_database() and pid <> pg_backend_pid() and state = 'active' and now() - query_start > interval '500 milliseconds'
        and (query ilike '%fxpipe_check%' or query ilike '%fx_consensus%' or query ilike '%production_checks%')`,
      )
    )[0]!.n;
  const locks = async () =>
    (
      await db.query<{ n: number }>(
        `select count(*)::int as n from pg_locks where relation = 'production_checks'::regclass and pid <> pg_backend_pid()`,
      )
    )[0]!.n;
  const until = async (what: () => Promise<boolean>, ms: number, message: string) => {
    const deadline = Date.now() + ms;
    while (!(await what())) {
      if (Date.now() > deadline) throw new Error(message);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  it('handles a fixed number of tuples per row: 4× the rows, about 4× the tuples, whatever the statistics (auto_explain)', async () => {
    const session = await database.open();
    const handled: number[] = [];
    try {
      const plans: string[] = [];
      session.client.on('notice', (notice) => {
        if (notice.message?.includes('"Plan"')) plans.push(notice.message);
      });
      for (const statement of [
        "load 'auto_explain'",
        'set auto_explain.log_min_duration = 0',
        'set auto_explain.log_analyze = on',
        'set auto_explain.log_timing = off',
        'set auto_explain.log_nested_statements = on',
        "set auto_explain.log_format = 'json'",
        'set client_min_messages = log',
      ])
        await session.query(statement);
      for (const n of [150, 600]) {
        plans.length = 0;
        const rates = await parseProductionRates(productionCsv(n, n), 'p.csv');
        const check = await checkProductionRates(session, rates, {
          tolerancePct: '0.5',
          label: `tuples-${n}`,
          now: new Date(),
          timeoutMs: 60_000,
          maxRows: 10_000,
        });
        expect(check.counts.no_rate).toBe(0);
        handled.push(
          plans.reduce(
            (sum, text) => sum + tuples((JSON.parse(text.slice(text.indexOf('{'))) as { Plan: Record<string, unknown> }).Plan),
            0,
          ),
        );
      }
    } finally {
      await session.close();
    }
    // Linear: about 4; the plan 0018 chose without statistics handled each row's legs once per row (about 16).
    expect(handled[1]! / handled[0]!, `tuples handled: ${handled.join(' then ')}`).toBeLessThan(5);
  });

  it('a killed fxpipe verify leaves no statement running and no lock; the next check runs at once', async () => {
    const big = file('big.csv', productionCsv(100_000, 1));
    const child = startCli(['verify', '--file', big], { env });
    try {
      await until(async () => (await computing()) > 0, 60_000, `the check never started: ${child.out.stderr}`);
      child.kill('SIGKILL');
      await finished(child);
      // The server notices the client gone within a second (client_connection_check_interval) and rolls back.
      await until(async () => (await checking()) === 0 && (await locks()) === 0, 10_000, 'the killed check is still running on the server');
    } finally {
      child.kill('SIGKILL');
    }
    const next = await runCli(['verify', '--file', file('small.csv', productionCsv(20, 2)), '--json'], { env, timeoutMs: 30_000 });
    expect(next.stderr).toBe('');
    expect([0, 4]).toContain(next.code);
    expect((await db.query<{ n: number }>(`select count(*)::int as n from production_checks where label is null`))[0]!.n).toBe(20);
  });

  it('a file over FXPIPE_VERIFY_MAX_ROWS exits 2 naming the limit, before any row is compared; nothing is stored', async () => {
    const before = (await db.query<{ n: number }>('select count(*)::int as n from production_checks'))[0]!.n;
    const result = await runCli(['verify', '--file', file('over.csv', productionCsv(101, 3))], {
      env: { ...env, FXPIPE_VERIFY_MAX_ROWS: '100' },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^fxpipe: .*over\.csv: more than 100 rows: a check takes at most FXPIPE_VERIFY_MAX_ROWS \(100\); split the file; nothing was checked or stored\n$/,
    );
    expect((await db.query<{ n: number }>('select count(*)::int as n from production_checks'))[0]!.n).toBe(before);
  });

  describe('fxpipe serve', () => {
    let served: Served;
    const body = productionCsv(20_000, 4);

    beforeAll(async () => {
      served = await startServe(database, path.join(dir, 'serve-home'));
    }, 60_000);

    afterAll(async () => {
      await served?.stop();
    });

    it('a client that goes away mid-check leaves no statement running and no lock: its connection is dropped', async () => {
      const abort = new AbortController();
      const posted = fetch(`${served.url}/api/v1/verify?label=abandoned`, {
        method: 'POST',
        body: productionCsv(60_000, 5),
        signal: abort.signal,
      }).catch((error: unknown) => error);
      await until(async () => (await computing()) > 0, 30_000, 'the posted check never started');
      const [running] = await db.query<{ pid: number }>(
        `select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and state = 'active' and query ilike '%fxpipe_check%'`,
      );
      const pid = running!.pid;
      abort.abort();
      expect(await posted).toBeInstanceOf(Error);
      // Its backend ends (serve drops the connection, the server notices): not left to finish the statement and idle in the pool.
      await until(
        async () => (await db.query('select 1 from pg_stat_activity where pid = $1', [pid])).length === 0,
        10_000,
        "the abandoned check's backend lives on",
      );
      expect(await locks()).toBe(0);
      expect((await db.query<{ n: number }>(`select count(*)::int as n from production_checks where label = 'abandoned'`))[0]!.n).toBe(0);
    });

    it('during 8 concurrent large checks, /api/v1/latest and /healthz still answer; checks beyond the places get 503 with Retry-After', async () => {
      const aborts = Array.from({ length: 8 }, () => new AbortController());
      const answers: { status: number; retryAfter: string | null; body: string }[] = [];
      const posts = aborts.map((abort, i) =>
        fetch(`${served.url}/api/v1/verify?label=concurrent-${i}`, { method: 'POST', body, signal: abort.signal }).then(
          async (response) =>
            answers.push({ status: response.status, retryAfter: response.headers.get('retry-after'), body: await response.text() }),
          () => undefined,
        ),
      );
      await until(async () => (await checking()) > 0, 30_000, 'no posted check started');
      const latest = await fetch(`${served.url}/api/v1/latest`);
      expect(latest.status).toBe(200);
      expect(((await latest.json()) as { rates: unknown[] }).rates).toHaveLength(QUOTES.length);
      // Not fresh (its sources are not the configured ones), but the database answers.
      expect(await (await fetch(`${served.url}/healthz`)).json()).toMatchObject({ database: 'reachable' });
      // Two of the default pool's ten connections check at once; the other six are told to come back.
      await until(async () => answers.length >= 6, 30_000, `answers: ${JSON.stringify(answers)}`);
      expect(answers.map((a) => a.status)).toEqual([503, 503, 503, 503, 503, 503]);
      for (const answer of answers) {
        expect(answer.retryAfter).toMatch(/^\d+$/);
        expect(JSON.parse(answer.body)).toEqual({
          error: '2 production checks are running: try again later; nothing was checked or stored',
        });
      }
      // The two running are abandoned: nothing is left running.
      for (const abort of aborts) abort.abort();
      await Promise.all(posts);
      await until(async () => (await checking()) === 0 && (await locks()) === 0, 10_000, 'checks still running after their clients left');
    });
  });
});
