import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createMarket } from '../../src/demo/market.js';
import { startProviderServer, type ProviderServer } from '../../src/demo/provider-server.js';
import type { Db } from '../../src/warehouse/db.js';
import { finished, runCli, startCli, waitForOutput, type CliResult } from '../helpers/cli.js';
import { type StatusJson } from '../helpers/cli-json.js';
import { createTestDatabase, scratchDir, type TestDatabase } from '../helpers/database.js';
import { dailyKey, dailyRows, dateKeyOf, type OraclePublication } from '../warehouse/read-models-oracle.js';

const DAY_MS = 86_400_000;
const ECB_2024 = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/eurofxref-hist-2024.csv');

const maxRateAge = async (db: Db) => (await db.query<{ age: string }>('select max_rate_age::text as age from fxpipe_settings'))[0]!.age;

/** stderr's log lines (JSON: not a terminal) as [level, message]; 40 is pino's warn. */
const logLines = (result: Pick<CliResult, 'stderr'>) =>
  result.stderr
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const entry = JSON.parse(line) as { level: number; msg: string };
      return [entry.level, entry.msg];
    });
const envNote = (given: string, warehouse: string) => [
  40,
  `FXPIPE_MAX_RATE_AGE is ${given} but the warehouse's max_rate_age is ${warehouse}: using the warehouse's (\`fxpipe db settings --max-rate-age ${given}\` changes it)`,
];

/** Every history row, by source, pair and time. */
async function history(db: Db): Promise<string[]> {
  const rows = await db.query<{ row: string }>(
    `select concat_ws(' ', s.source_name, q.currency_code, to_char(h.rate_timestamp at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS'),
                      h.rate::text, coalesce(h.previous_rate::text, '-')) as row
       from fact_rates_history h join dim_source s using (source_id) join dim_currency q on q.currency_id = h.quote_currency_id
      order by s.source_name, q.currency_code, h.rate_timestamp`,
  );
  return rows.map((r) => r.row);
}

/** Every daily read-model row, as api.daily_rates shows it. */
async function dailies(db: Db): Promise<string[]> {
  const rows = await db.query<{ row: string }>(
    `select concat_ws(' ', source, quote, date, open, high, low, close, average, observations, carried) as row
       from api.daily_rates order by source, quote, date`,
  );
  return rows.map((r) => r.row);
}

describe('FXPIPE_MAX_RATE_AGE', () => {
  it('reads whole days, hours or minutes, and names nothing when unset; anything else is one line naming it, exit 2', async () => {
    const ms = (value?: string) =>
      loadConfig({ env: value === undefined ? {} : { FXPIPE_MAX_RATE_AGE: value }, cwd: scratchDir() }).maxRateAge;
    expect([ms(), ms('7d'), ms('36h'), ms('90m'), ms('7 days'), ms('1 hour')]).toEqual([
      undefined,
      7 * DAY_MS,
      36 * 3_600_000,
      90 * 60_000,
      7 * DAY_MS,
      3_600_000,
    ]);
    for (const bad of ['7', '7 weeks', '1.5d', '0m', '3651d', '7D']) {
      expect(() => ms(bad)).toThrow(
        `invalid setting FXPIPE_MAX_RATE_AGE: ${JSON.stringify(bad)} expected a duration of whole days, hours or minutes from 1m to 3650d, such as 7d, 36h, 90m or "7 days"`,
      );
    }
    const result = await runCli(['run'], { env: { FXPIPE_MAX_RATE_AGE: '7 weeks', DATABASE_URL: 'postgres://fx:pw@127.0.0.1:1/fx' } });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'fxpipe: invalid setting FXPIPE_MAX_RATE_AGE: "7 weeks" expected a duration of whole days, hours or minutes from 1m to 3650d, such as 7d, 36h, 90m or "7 days"\n',
    );
  });
});

/**
 * issue 28: max_rate_age is the warehouse's own. `db init` gives a warehouse it creates FXPIPE_MAX_RATE_AGE, `db settings`
 * changes it, and no job writes it: a job whose FXPIPE_MAX_RATE_AGE differs says so in one line and uses the warehouse's.
 */
describe("max_rate_age is the warehouse's own setting", () => {
  const databases: TestDatabase[] = [];
  let server: ProviderServer;
  /** How far in the past the providers live: moved by the tests. */
  let providerLag = 6 * DAY_MS;

  const warehouse = async () => {
    const database = await createTestDatabase();
    databases.push(database);
    return { database, db: await database.open() };
  };
  const cli = (database: TestDatabase, args: string[], env: Record<string, string> = {}) =>
    runCli(args, {
      env: { ...server.env, DATABASE_URL: database.url, FXPIPE_HTTP_RETRIES: '0', FXPIPE_LOG_LEVEL: 'warn', ...env },
      timeoutMs: 120_000,
    });

  beforeAll(async () => {
    server = await startProviderServer({
      market: createMarket({ seed: 5, start: new Date(Date.now() - 10 * DAY_MS) }),
      clock: () => new Date(Date.now() - providerLag),
    });
  });
  afterAll(async () => {
    await server?.close();
    for (const database of databases) await database.drop();
  });

  it('db init: a warehouse it creates takes FXPIPE_MAX_RATE_AGE; one that exists keeps its own, and db init says so in one line', async () => {
    const database = await createTestDatabase('fxtest', { empty: true });
    databases.push(database);
    const first = await cli(database, ['db', 'init'], { FXPIPE_MAX_RATE_AGE: '36h' });
    expect(first.code).toBe(0);
    expect(first.stderr).toBe('');
    const db = await database.open();
    expect(await maxRateAge(db)).toBe('1 day 12:00:00');

    const again = await cli(database, ['db', 'init'], { FXPIPE_MAX_RATE_AGE: '2d' });
    expect(again.code).toBe(0);
    expect(logLines(again)).toEqual([envNote('2d', '1 day 12:00:00')]);
    expect(await maxRateAge(db)).toBe('1 day 12:00:00');

    const unset = await cli(database, ['db', 'init']);
    expect([unset.code, unset.stderr]).toEqual([0, '']);
    expect(await maxRateAge(db)).toBe('1 day 12:00:00');
  });

  it("a run, a scheduler and a reprocess whose FXPIPE_MAX_RATE_AGE differs store the history the warehouse's setting makes and leave it unchanged, each saying so once", async () => {
    // a and b keep the default (7 days); c is set to 36 hours with `db settings`, the value a's environment names.
    const [a, b, c] = [await warehouse(), await warehouse(), await warehouse()];
    const set = await cli(c.database, ['db', 'settings', '--max-rate-age', '36h']);
    expect([set.code, set.stderr]).toEqual([0, '']);
    expect(set.stdout).toContain('Changed max_rate_age from 7 days to 1 day 12:00:00');

    // a's first load is `FXPIPE_MAX_RATE_AGE=36h fxpipe run`, its second a scheduler with the same environment.
    providerLag = 6 * DAY_MS;
    const runs = await Promise.all([a, b, c].map((w) => cli(w.database, ['run', '--json'], w === a ? { FXPIPE_MAX_RATE_AGE: '36h' } : {})));
    for (const result of runs) expect(result.code).toBe(0);
    expect(runs.map(logLines)).toEqual([[envNote('36h', '7 days')], [], []]);
    expect(await maxRateAge(a.db)).toBe('7 days');
    // Three days later (more than 36 hours), each warehouse's scheduler catches up once when it starts: one run each.
    providerLag = 3 * DAY_MS;
    const schedulers = [
      startCli(['schedule', '--cron', '0 0 1 1 *'], {
        env: {
          ...server.env,
          DATABASE_URL: a.database.url,
          FXPIPE_HTTP_RETRIES: '0',
          FXPIPE_LOG_LEVEL: 'warn',
          FXPIPE_MAX_RATE_AGE: '36h',
        },
      }),
      startCli(['schedule', '--cron', '0 0 1 1 *'], {
        env: { ...server.env, DATABASE_URL: b.database.url, FXPIPE_HTTP_RETRIES: '0', FXPIPE_LOG_LEVEL: 'warn' },
      }),
      startCli(['schedule', '--cron', '0 0 1 1 *'], {
        env: { ...server.env, DATABASE_URL: c.database.url, FXPIPE_HTTP_RETRIES: '0', FXPIPE_LOG_LEVEL: 'warn' },
      }),
    ];
    const results = await Promise.all(
      schedulers.map(async (scheduler) => {
        await waitForOutput(scheduler, 'Scheduler ', 90_000);
        scheduler.kill('SIGTERM');
        return finished(scheduler);
      }),
    );
    for (const result of results) expect(result.code).toBe(0);
    expect(logLines(results[0]!)).toEqual([envNote('36h', '7 days')]);
    expect(logLines(results[1]!)).toEqual([]);
    expect(logLines(results[2]!)).toEqual([]);
    for (const w of [a, b, c]) {
      expect(await w.db.query<{ n: number }>(`select count(*)::int as n from pipeline_runs where status = 'loaded'`)).toEqual([{ n: 2 }]);
    }

    // reprocess replays the stored responses under the warehouse's setting too.
    const replay = await cli(a.database, ['reprocess', '--json'], { FXPIPE_MAX_RATE_AGE: '36h' });
    expect(replay.code).toBe(0);
    expect(logLines(replay)).toEqual([envNote('36h', '7 days')]);

    expect(await maxRateAge(a.db)).toBe('7 days');
    expect(await history(a.db)).toEqual(await history(b.db));
    expect(await dailies(a.db)).toEqual(await dailies(b.db));

    // What a would have stored under its environment's 36 hours: c's history holds b's and, besides, the values that
    // repeat the pair's previous one after more than 36 hours (a stretch in force starting again is always stored).
    const [withDefault, with36h] = [await history(b.db), await history(c.db)];
    expect(withDefault.filter((row) => !with36h.includes(row))).toEqual([]);
    const repeats = with36h.filter((row) => !withDefault.includes(row)).map((row) => row.split(' '));
    expect(repeats.length).toBeGreaterThan(0);
    for (const [, , , rate, previous] of repeats) expect(rate).toBe(previous);
  });

  /**
   * The days each ECB pair is in force, by definition (docs/schema.md, "Rates in force"; the oracle of
   * test/warehouse/read-models-oracle.ts), from the historical file itself: a publication every business day at 16:00
   * Frankfurt time (15:00 UTC in December), each currency it carries rebased to USD (USD itself gives EUR).
   */
  function ecbDaysInForce(from: string, to: string, maxAgeMs: number): string[] {
    const [header, ...lines] = readFileSync(ECB_2024, 'utf8').trim().split('\n');
    const codes = header!.split(',').slice(1);
    const pubs: OraclePublication[] = [];
    for (const line of lines) {
      const [date = '', ...cells] = line.split(',');
      if (date < from || date > to) continue;
      const carried = codes.filter((code, i) => code !== '' && cells[i] !== undefined && /^[0-9.]+$/.test(cells[i]));
      const quotes = carried.map((code) => (code === 'USD' ? 'EUR' : code));
      pubs.push({ asOf: Date.parse(`${date}T15:00:00Z`), values: new Map(quotes.map((quote) => [quote, '1'])) });
    }
    return [...dailyRows(pubs, maxAgeMs, new Set()).keys()].sort();
  }

  it('db settings changes it, under the run lock: the read models are rebuilt to the days in force under the new age; a backfill never writes it', async () => {
    const { database, db } = await warehouse();
    const stored = async () =>
      (
        await db.query<{ date_key: number; quote: string }>(
          `select date_key, quote from api.daily_rates where source = 'ecb' and base = 'USD'`,
        )
      )
        .map((r) => dailyKey(r.date_key, r.quote))
        .sort();
    const sunday = dateKeyOf(Date.parse('2024-12-08T12:00:00Z'));

    const backfill = await cli(
      database,
      ['backfill', '--source', 'ecb-csv', '--file', ECB_2024, '--from', '2024-12-02', '--to', '2024-12-13', '--json'],
      { FXPIPE_MAX_RATE_AGE: '1d' },
    );
    expect(backfill.code).toBe(0);
    expect(logLines(backfill)).toEqual([envNote('1d', '7 days')]);
    expect(await maxRateAge(db)).toBe('7 days');
    const byDefault = await stored();
    expect(byDefault).toEqual(ecbDaysInForce('2024-12-02', '2024-12-13', 7 * DAY_MS));
    expect(byDefault.filter((key) => key.startsWith(`${sunday} `)).length).toBeGreaterThan(25); // Friday's rates carry over

    const set = await cli(database, ['db', 'settings', '--max-rate-age', '1d', '--json']);
    expect([set.code, set.stderr]).toEqual([0, '']);
    expect(JSON.parse(set.stdout)).toMatchObject({
      maxRateAge: '1 day',
      maxRateAgeMs: DAY_MS,
      consensusTolerancePct: 1,
      changed: ['maxRateAge'],
      readModelsRebuilt: true,
    });
    expect(await maxRateAge(db)).toBe('1 day');
    const underOneDay = await stored();
    expect(underOneDay).toEqual(ecbDaysInForce('2024-12-02', '2024-12-13', DAY_MS));
    expect(underOneDay.filter((key) => key.startsWith(`${sunday} `))).toEqual([]); // Friday 15:00 + 1 day ends on Saturday

    const status = await cli(database, ['status', '--json']);
    expect((JSON.parse(status.stdout) as StatusJson).settings).toMatchObject({
      maxRateAge: '1 day',
      maxRateAgeMs: DAY_MS,
      consensusTolerancePct: 1,
    });

    const same = await cli(database, ['db', 'settings', '--max-rate-age', '24h']);
    expect(same.stdout).toContain('Nothing changed: the settings already had these values.');
    const back = await cli(database, ['db', 'settings', '--max-rate-age', '7d', '--consensus-tolerance', '2.5']);
    expect([back.code, back.stderr]).toEqual([0, '']);
    expect(back.stdout).toContain(
      'Changed max_rate_age from 1 day to 7 days and consensus_tolerance_pct from 1 to 2.5; rebuilt the daily and monthly read models under the new age.',
    );
    expect(back.stdout).toMatch(/consensus_tolerance_pct +2\.5 %/);
    expect(await stored()).toEqual(byDefault);

    for (const [flag, value, expected] of [
      [
        '--max-rate-age',
        '1w',
        'invalid --max-rate-age "1w": expected a duration of whole days, hours or minutes from 1m to 3650d, such as 7d, 36h, 90m or "7 days"',
      ],
      ['--consensus-tolerance', '0', 'invalid --consensus-tolerance "0": expected a percentage above 0, at most 100'],
      ['--consensus-tolerance', '101', 'invalid --consensus-tolerance "101": expected a percentage between 0 and 100'],
    ] as const) {
      const bad = await cli(database, ['db', 'settings', flag, value]);
      expect([bad.code, bad.stdout, bad.stderr]).toEqual([2, '', `fxpipe: ${expected}\n`]);
    }
    expect((await db.query<{ pct: string }>('select consensus_tolerance_pct::text as pct from fxpipe_settings'))[0]!.pct).toBe('2.5');

    // Under the run lock: while a job holds it, nothing changes and the command exits 3, as a second run would.
    await db.transaction(async (tx) => {
      await tx.query(`select 1 from fxpipe_run_lock where lock_name = 'run' for update`);
      const busy = await cli(database, ['db', 'settings', '--max-rate-age', '2d'], { FXPIPE_LOCK_WAIT_MS: '0' });
      expect([busy.code, busy.stderr]).toEqual([3, 'fxpipe: another run is in progress (waited 0 s for its lock)\n']);
    });
    expect(await maxRateAge(db)).toBe('7 days');
  });
});
