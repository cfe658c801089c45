import { renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parse as parseCsv } from 'csv-parse/sync';
import { Decimal } from 'decimal.js';
import { parse } from 'lossless-json';
import { createMarket } from '../../src/demo/market.js';
import { startProviderServer } from '../../src/demo/provider-server.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, scratchDir } from '../helpers/database.js';
import { matcher } from '../helpers/matcher.js';
import { initWarehouse } from '../../src/warehouse/init.js';
import { setMaxRateAge } from '../../src/warehouse/publications.js';
import { servedWarehouse, startServe, type Served, type ServedWarehouse } from './support.js';
import { createLogger } from '../../src/log.js';
import { createApp } from '../../src/serve/app.js';
import { historyPoints, planHistory, type HistoryPoint } from '../../src/serve/data/history.js';
import { SOURCE_NAMES } from '../../src/sources/types.js';

const TOKEN = 'test-token-7f3a9c1e5b2d8f40';

/** The API's answers, the fields these tests read. */
interface ErrorBody {
  error: string;
  parameter?: string;
}
interface LatestBody {
  base: string;
  rates: { quote: string; rate: string; source: string }[];
}
interface ConvertBody {
  rate: string;
  converted: string;
  archived: boolean;
}
interface HistoryBody {
  sources: Record<string, string>;
  points: HistoryPoint[];
}
interface RunsBody {
  runs: { runId: string }[];
}
interface ArchiveBody {
  archived: { months: number };
  months: { month: string; state: string }[];
}
interface RejectedBody {
  rejected: { reason: string }[];
}
interface ComparisonBody {
  legs: { quote: string; sources: { source: string }[] }[];
}

describe('fxpipe serve: the JSON API over real HTTP', () => {
  let dir: string;
  let w: ServedWarehouse;
  let served: Served;
  const get = async (path: string, init: RequestInit = {}) => {
    const response = await fetch(`${served.url}${path}`, init);
    return {
      status: response.status,
      type: response.headers.get('content-type') ?? '',
      text: await response.text(),
      headers: response.headers,
    };
  };
  const json = async <T = unknown>(path: string) => {
    const r = await get(path);
    expect(r.type).toContain('application/json');
    return { status: r.status, body: JSON.parse(r.text) as T };
  };

  /**
   * The oracle: open-er-api's (the primary's) file as its simulated server published it at the demo's last run, the
   * numbers as their text.
   */
  let primary: Promise<{ rates: Map<string, string>; asOf: Date }> | undefined;
  const primaryFile = () =>
    (primary ??= (async () => {
      const market = createMarket({ seed: w.demo.seed, start: new Date(Date.parse(w.demo.firstRun) - 86_400_000) });
      const provider = await startProviderServer({ market, clock: () => new Date(Date.parse(w.demo.lastRun) + 60_000) });
      try {
        const text = await (await fetch(`${provider.baseUrls['open-er-api']}/v6/latest/USD`)).text();
        const file = parse(text, null, (number) => number) as { rates: Record<string, string>; time_last_update_unix: string };
        return {
          rates: new Map(Object.entries(file.rates).filter(([quote]) => quote !== 'USD')),
          asOf: new Date(Number(file.time_last_update_unix) * 1000),
        };
      } finally {
        await provider.close();
      }
    })());
  const digits15 = (value: Decimal.Value) => new Decimal(value).toSignificantDigits(15).toFixed();

  beforeAll(async () => {
    dir = scratchDir('fxpipe-serve-');
    w = await servedWarehouse(dir);
    served = await startServe(w.database, w.home);
  }, 300_000);

  afterAll(async () => {
    await served?.stop();
    await w?.database.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("GET /api/v1/latest: the providers' USD rates exactly, and cross rates for another base", async () => {
    const published = (await primaryFile()).rates;
    expect(published.size).toBeGreaterThan(150);

    const usd = await json<LatestBody>('/api/v1/latest?base=USD');
    expect(usd.status).toBe(200);
    expect(usd.body.base).toBe('USD');
    const served = new Map<string, { rate: string; source: string }>(usd.body.rates.map((r) => [r.quote, r]));
    expect([...served.keys()].sort()).toEqual([...published.keys()].sort());
    for (const [quote, rate] of published)
      expect(served.get(quote), quote).toEqual(expect.objectContaining({ rate, source: 'open-er-api' }));

    // EUR→X by arithmetic done here, in decimal.js: USD→X / USD→EUR from the same file, to 15 significant digits.
    const eur = await json<LatestBody>('/api/v1/latest?base=eur');
    expect(eur.body.base).toBe('EUR');
    const crosses = eur.body.rates;
    expect(crosses.map((r) => r.quote).sort()).toEqual([...published.keys(), 'USD'].filter((q) => q !== 'EUR').sort());
    const usdEur = new Decimal(published.get('EUR')!);
    for (const { quote, rate } of crosses) {
      expect(digits15(rate), quote).toBe(digits15(new Decimal(quote === 'USD' ? 1 : published.get(quote)!).div(usdEur)));
    }
  });

  it("GET /api/v1/convert: the primary's file by arithmetic now, api.convert's answer at a past time", async () => {
    // Now: the primary's file, by arithmetic done here (USD→JPY / USD→EUR, times 100), and its publication time.
    const now = await json<ConvertBody>('/api/v1/convert?from=EUR&to=JPY&amount=100');
    const file = await primaryFile();
    const rate = new Decimal(file.rates.get('JPY')!).div(file.rates.get('EUR')!);
    expect(now.status).toBe(200);
    expect(now.body).toMatchObject({
      amount: '100',
      from: 'EUR',
      to: 'JPY',
      asOf: file.asOf.toISOString(),
      at: null,
      fromSource: 'open-er-api',
      toSource: 'open-er-api',
    });
    expect(digits15(now.body.rate)).toBe(digits15(rate));
    expect(digits15(now.body.converted)).toBe(digits15(rate.times(100)));

    const at = new Date(Date.now() - 3 * 86_400_000).toISOString();
    const past = await json<ConvertBody>(`/api/v1/convert?from=GBP&to=CHF&amount=12.50&at=${encodeURIComponent(at)}`);
    const [then] = await w.db.query<{ converted: string; rate: string }>(
      `select converted::text as converted, rate::text as rate from api.convert(12.50, 'GBP', 'CHF', $1::timestamptz)`,
      [at],
    );
    expect(past.body).toMatchObject({ amount: '12.50', from: 'GBP', to: 'CHF', rate: then!.rate, converted: then!.converted, at });

    expect(past.body.archived).toBe(false);

    // At times whose month is archived, equal to api.convert's before the month moved: a value PostgreSQL's daily rows
    // still hold (open-er-api's only publication of the day before) is answered from them; one that only the archived
    // history holds (the first of exchangerate-api's two publications that day) from the Parquet files.
    for (const [key, source, archived] of [
      ['daily', 'open-er-api', false],
      ['intraday', 'exchangerate-api', true],
    ] as const) {
      const b = w.convertBeforeArchive[key];
      expect(w.archivedMonths).toContain(b.at.slice(0, 7));
      expect(b).toMatchObject({ fromSource: source, toSource: source });
      const cold = await json(`/api/v1/convert?from=GBP&to=JPY&amount=250&at=${encodeURIComponent(b.at)}`);
      expect(cold.status, key).toBe(200);
      expect(cold.body, key).toEqual({
        amount: '250',
        from: 'GBP',
        to: 'JPY',
        rate: b.rate,
        converted: b.converted,
        asOf: b.asOf,
        at: b.at,
        fromSource: b.fromSource,
        toSource: b.toSource,
        archived,
      });
    }
    // A reader calling api.convert itself at that time is refused, naming the archive, rather than answered from
    // another source (exchangerate-api's value is in force then, but only the archive holds it).
    const intraday = await w.db
      .query(`select * from api.convert(250, 'GBP', 'JPY', $1)`, [w.convertBeforeArchive.intraday.at])
      .catch((error: { code?: string; message: string }) => error);
    expect(intraday).toMatchObject({ code: 'P0002', message: matcher.stringMatching(/from exchangerate-api at .* is in the archive/) });

    const none = await json<ErrorBody>('/api/v1/convert?from=EUR&to=JPY&at=2001-01-01');
    expect(none.status).toBe(404);
    expect(none.body.error).toMatch(/^no rate for EUR at or before 2001-01-01 /);
    const notYet = await json('/api/v1/convert?from=EUR&to=XXX');
    expect(notYet.status).toBe(400);
  });

  it('GET /api/v1/convert at the latest rates: every digit, source and as-of api.convert gives, for any amount', async () => {
    const codes = [...(await primaryFile()).rates.keys()];
    const pairs: [string, string, string][] = [
      ['USD', 'EUR', '1'],
      ['EUR', 'USD', '0.01'],
      ['JPY', 'EUR', '-250.125'],
      ['EUR', 'EUR', '3'],
    ];
    for (let i = 0; pairs.length < 60; i++) {
      const from = codes[(i * 37) % codes.length]!;
      const to = codes[(i * 53 + 11) % codes.length]!;
      pairs.push([from, to, ['100', '0', '12.50', '99999999999999999999.99999999999999999999', '0.00000001'][i % 5]!]);
    }
    for (const [from, to, amount] of pairs) {
      const served = await json(`/api/v1/convert?from=${from}&to=${to}&amount=${amount}`);
      const [row] = await w.db.query<{
        amount: string;
        rate: string;
        converted: string;
        as_of: Date;
        from_source: string | null;
        to_source: string | null;
      }>(
        `select from_amount::text as amount, rate::text as rate, converted::text as converted, as_of, from_source, to_source from api.convert($1::numeric, $2, $3)`,
        [amount, from, to],
      );
      expect(served.body, `${amount} ${from}→${to}`).toEqual({
        amount: row!.amount,
        from,
        to,
        rate: row!.rate,
        converted: row!.converted,
        asOf: row!.as_of.toISOString(),
        at: null,
        fromSource: row!.from_source,
        toSource: row!.to_source,
        archived: false,
      });
    }
  });

  it('a currency not in force is a 404 naming it: /latest and /convert, now and at past times, hot or archived', async () => {
    await setMaxRateAge(w.db, 60_000); // every rate is older than a minute: none is in force
    try {
      // serve reads what the latest answers depend on at most once a second.
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const latest = await json('/api/v1/latest?base=EUR');
      expect(latest.status).toBe(404);
      expect(latest.body).toEqual({
        error: matcher.stringMatching(/^no rate for EUR in force now: its last value is from .+ \((open-er-api|frankfurter|ecb)\)$/),
      });
      expect(await json('/api/v1/latest?base=USD')).toEqual({ status: 200, body: { base: 'USD', rates: [] } });

      const now = await json<ErrorBody>('/api/v1/convert?from=EUR&to=JPY&amount=100');
      expect(now.status).toBe(404);
      expect(now.body.error).toMatch(/^no rate for EUR in force now: its last value is from /);
      for (const at of [new Date(Date.now() - 3 * 86_400_000).toISOString(), w.convertBeforeArchive.intraday.at]) {
        const past = await json<ErrorBody>(`/api/v1/convert?from=GBP&to=JPY&at=${encodeURIComponent(at)}`);
        expect(past.status, at).toBe(404);
        expect(past.body.error, at).toMatch(/^no rate for GBP in force at .+: its last value is from /);
      }

      // History is not about now: a pair not in force still has its days.
      const history = await json<HistoryBody>('/api/v1/history?pair=USD/EUR');
      expect(history.status).toBe(200);
      expect(history.body.sources).toEqual({ EUR: 'open-er-api' });
      expect(history.body.points.length).toBeGreaterThan(40);
    } finally {
      await setMaxRateAge(w.db, 7 * 86_400_000);
      await new Promise((resolve) => setTimeout(resolve, 1100));
    }
  });

  it('GET /api/v1/history: archived and hot months as one daily series from PostgreSQL, equal to the daily aggregates before archiving', async () => {
    // The Parquet files moved away: archived months' aggregates are answered from PostgreSQL, without them.
    const files = (await w.db.query<{ uri: string }>(`select uri from archive_manifest where state = 'archived'`)).map((r) =>
      fileURLToPath(r.uri),
    );
    expect(files.length).toBe(w.archivedMonths.length);
    for (const file of files) renameSync(file, `${file}.away`);
    try {
      for (const quote of ['EUR', 'JPY']) {
        const before = w.dailyBeforeArchive.get(quote)!;
        const from = before[0]!.date;
        const to = before.at(-1)!.date;
        const history = await json<HistoryBody>(`/api/v1/history?pair=USD/${quote}&from=${from}&to=${to}&interval=day`);
        expect(history.status).toBe(200);
        expect(history.body).toMatchObject({ pair: `USD/${quote}`, from, to, interval: 'day', sources: { [quote]: 'open-er-api' } });
        const points = history.body.points;
        expect(points.map(({ tier: _tier, ...p }) => p)).toEqual(before);
        const coldMonths = [...new Set(points.filter((p) => p.tier === 'cold').map((p) => p.date.slice(0, 7)))];
        expect(coldMonths).toEqual(w.archivedMonths.filter((m) => before.some((d) => d.date.startsWith(m))));
        expect(points.some((p) => p.tier === 'hot')).toBe(true);
      }
    } finally {
      for (const file of files) renameSync(`${file}.away`, file);
    }

    // A month's point: its first open, its last close, its days' observations; carried only when every day was.
    const eurMonths = await json<HistoryBody>(
      `/api/v1/history?pair=USD/EUR&from=${w.dailyBeforeArchive.get('EUR')![0]!.date}&interval=month`,
    );
    const eurDays = w.dailyBeforeArchive.get('EUR')!;
    for (const month of eurMonths.body.points) {
      const days = eurDays.filter((d) => d.date.startsWith(month.date.slice(0, 7)));
      expect(month).toMatchObject({
        open: days[0]!.open,
        close: days.at(-1)!.close,
        observations: days.reduce((n, d) => n + d.observations, 0),
        carried: days.every((d) => d.carried),
      });
    }

    // A cross pair over both tiers: each day's close is JPY's ÷ EUR's, to 15 significant digits; high/low unknown.
    const jpyByDate = new Map(w.dailyBeforeArchive.get('JPY')!.map((d) => [d.date, d.close]));
    const cross = await json<HistoryBody>(`/api/v1/history?pair=EUR/JPY&from=${eurDays[0]!.date}&to=${eurDays.at(-1)!.date}`);
    expect(cross.body.sources).toEqual({ EUR: 'open-er-api', JPY: 'open-er-api' });
    expect(cross.body.points.map((p) => [p.date, p.close, p.high])).toEqual(
      eurDays
        .filter((d) => jpyByDate.has(d.date))
        .map((d) => [d.date, new Decimal(jpyByDate.get(d.date)!).div(d.close).toSignificantDigits(15).toFixed(), null]),
    );
    expect(new Set(cross.body.points.map((p) => p.tier))).toEqual(new Set(['cold', 'hot']));

    // The inverse pair: 1 / the stored rate, to 15 significant digits; a month's close is its last day's.
    const inverse = await json<HistoryBody>(
      `/api/v1/history?pair=EUR/USD&from=${w.dailyBeforeArchive.get('EUR')![0]!.date}&interval=month`,
    );
    const last = w.dailyBeforeArchive.get('EUR')!.at(-1)!;
    const lastMonth = inverse.body.points.at(-1)!;
    expect(lastMonth.date).toBe(`${last.date.slice(0, 7)}-01`);
    const [inv] = await w.db.query<{ v: string }>(`select (1 / $1::numeric)::text as v`, [last.close]);
    expect(Number(lastMonth.close)).toBeCloseTo(Number(inv!.v), 12);
    expect(lastMonth.close.replace(/^0\.0*/, '').replace('.', '').length).toBeLessThanOrEqual(15);
  });

  /** `fxpipe serve`'s app in process, over the same warehouse. */
  const inProcess = () =>
    createApp({
      db: w.db,
      sources: SOURCE_NAMES,
      token: undefined,
      cacheDir: path.join(dir, 'cache'),
      lastGoodDir: path.join(dir, 'last-good'),
      lastGoodScope: 'api-test',
      verify: {
        tolerancePct: '0.5',
        timeoutMs: 60_000,
        maxRows: 1000,
        places: 2,
        alerts: { webhookUrl: undefined, alerts: [], webhookTimeoutMs: 3000 },
      },
      databaseWaitMs: 2000,
      corsOrigins: undefined,
      log: createLogger('silent'),
    });
  const historyRange = () => ({ from: w.dailyBeforeArchive.get('EUR')![0]!.date, to: new Date().toISOString().slice(0, 10) });

  it('GET /api/v1/history?interval=week: ISO weeks from Monday, equal to the daily answer aggregated here in decimal.js', async () => {
    const app = inProcess();
    const { to } = historyRange();
    // From a Wednesday: the first week's point is dated the Monday before, as a month's is its first day.
    let from = historyRange().from;
    while (new Date(`${from}T00:00:00Z`).getUTCDay() !== 3)
      from = new Date(Date.parse(`${from}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    const mondayOf = (day: string) => {
      const at = new Date(`${day}T00:00:00Z`);
      return new Date(at.getTime() - ((at.getUTCDay() + 6) % 7) * 86_400_000).toISOString().slice(0, 10);
    };
    for (const pair of ['USD/EUR', 'EUR/USD', 'EUR/JPY']) {
      const daily = (await (await app.request(`/api/v1/history?pair=${pair}&from=${from}&to=${to}&interval=day`)).json()) as {
        points: HistoryPoint[];
      };
      const oracle: HistoryPoint[] = [];
      for (const day of daily.points) {
        const week = oracle.at(-1);
        if (week?.date !== mondayOf(day.date)) {
          oracle.push({ ...day, date: mondayOf(day.date) });
          continue;
        }
        // The highest and lowest day's value as that day's text: decimal.js compares, the digits stay the answer's.
        week.high = day.high === null || week.high === null ? null : new Decimal(day.high).gt(week.high) ? day.high : week.high;
        week.low = day.low === null || week.low === null ? null : new Decimal(day.low).lt(week.low) ? day.low : week.low;
        week.close = day.close;
        week.observations += day.observations;
        week.carried = week.carried && day.carried;
        week.tier = week.tier === 'cold' || day.tier === 'cold' ? 'cold' : 'hot';
      }
      const weekly = await app.request(`/api/v1/history?pair=${pair}&from=${from}&to=${to}&interval=week`);
      expect(weekly.status).toBe(200);
      const body = (await weekly.json()) as { interval: string; points: HistoryPoint[] };
      expect(body.interval).toBe('week');
      expect(body.points, pair).toEqual(oracle);
      expect(body.points.length).toBeGreaterThanOrEqual(6);
      expect(body.points.every((p) => new Date(`${p.date}T00:00:00Z`).getUTCDay() === 1)).toBe(true);
      expect(body.points[0]!.date < from).toBe(true);
      if (pair === 'USD/EUR') expect(new Set(body.points.map((p) => p.tier))).toEqual(new Set(['cold', 'hot']));
    }

    // Read in pages (here of 4 stored days: weeks and months straddle them), the points are the same as in one page.
    for (const interval of ['day', 'week', 'month'] as const) {
      const plan = await planHistory(w.db, { base: 'EUR', quote: 'JPY' }, { from, to }, interval, null);
      const read = async (pageDays?: number) => {
        const points: HistoryPoint[] = [];
        for await (const point of historyPoints(w.db, plan, pageDays)) points.push(point);
        return points;
      };
      expect(await read(4), interval).toEqual(await read());
    }
  });

  it("GET /api/v1/history as CSV and NDJSON (Accept or format=, format= winning): the JSON answer's points, digit for digit, streamed", async () => {
    const app = inProcess();
    const { from, to } = historyRange();
    for (const [pair, interval] of [
      ['USD/EUR', 'day'],
      ['EUR/JPY', 'week'],
      ['JPY/USD', 'month'],
    ] as const) {
      const query = `/api/v1/history?pair=${pair}&from=${from}&to=${to}&interval=${interval}`;
      const json = await app.request(query);
      const points = ((await json.json()) as { points: HistoryPoint[] }).points;
      expect(points.length, query).toBeGreaterThan(0);

      const csv = await app.request(`${query}&format=csv`);
      expect(csv.status).toBe(200);
      expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8; header=present');
      const text = await csv.text();
      expect(text.split('\r\n')[0]).toBe('date,open,high,low,close,observations,carried,tier');
      expect(text.endsWith('\r\n')).toBe(true);
      const records = parseCsv<Record<string, string>>(text, { columns: true });
      expect(records, query).toEqual(
        points.map((point) => Object.fromEntries(Object.entries(point).map(([k, v]) => [k, v === null ? '' : String(v)]))),
      );

      const ndjson = await app.request(query, { headers: { Accept: 'application/x-ndjson' } });
      expect(ndjson.headers.get('content-type')).toBe('application/x-ndjson');
      const lines = (await ndjson.text()).split('\n');
      expect(lines.pop()).toBe('');
      expect(
        lines.map((line) => JSON.parse(line) as unknown),
        query,
      ).toEqual(points);

      // The JSON answer's caching: the same Cache-Control, a strong ETag of its own (a 304 for it), Vary: Accept on each.
      for (const response of [csv, ndjson, json]) {
        expect(response.headers.get('cache-control')).toBe(json.headers.get('cache-control'));
        expect(response.headers.get('vary')).toBe('Accept');
        expect(response.headers.get('etag')).toMatch(/^"[^"]+"$/);
      }
      expect(new Set([csv, ndjson, json].map((r) => r.headers.get('etag'))).size).toBe(3);
      const again = await app.request(`${query}&format=csv`, { headers: { 'If-None-Match': csv.headers.get('etag')! } });
      expect(again.status).toBe(304);
      expect(await again.text()).toBe('');
      expect((await app.request(`${query}&format=csv`)).headers.get('etag')).toBe(csv.headers.get('etag'));
    }

    // Any write of the history moves the streamed answers' ETag (the warehouse's data version, read at most a second
    // old), here one that changes no row: an ETag may change without the rows, never the rows without it.
    const query = `/api/v1/history?pair=USD/EUR&from=${from}&to=${to}&format=ndjson`;
    const before = (await app.request(query)).headers.get('etag');
    await w.db.query('update fact_rates_history set rate = rate where false');
    await sleep(1100);
    const after = await app.request(query, { headers: { 'If-None-Match': before! } });
    expect(after.status).toBe(200);
    expect(after.headers.get('etag')).not.toBe(before);

    // Which format: format= whatever Accept says; else Accept's best; else JSON.
    const base = `/api/v1/history?pair=USD/EUR&from=${from}&to=${to}`;
    const cases: [string, string | undefined, string][] = [
      ['', undefined, 'application/json'],
      ['', '*/*', 'application/json'],
      ['', 'text/html,application/xhtml+xml,*/*;q=0.8', 'application/json'],
      ['', 'text/csv', 'text/csv'],
      ['', 'application/json;q=0.5, text/csv', 'text/csv'],
      ['', 'application/x-ndjson', 'application/x-ndjson'],
      ['&format=json', 'text/csv', 'application/json'],
      ['&format=csv', 'application/x-ndjson', 'text/csv'],
      ['&format=ndjson', 'application/json', 'application/x-ndjson'],
    ];
    for (const [format, accept, type] of cases) {
      const response = await app.request(`${base}${format}`, accept ? { headers: { Accept: accept } } : {});
      expect(response.headers.get('content-type'), `${format} ${accept}`).toContain(type);
      await response.body?.cancel();
    }

    // A bad request is a 400 in /api/v1's shape, before any byte of CSV: an unknown format, or a pair asked as CSV.
    for (const [query, accept, parameter] of [
      ['&format=xml', 'text/csv', 'format'],
      ['&format=CSV', undefined, 'format'],
    ] as const) {
      const response = await app.request(`${base}${query}`, accept ? { headers: { Accept: accept } } : {});
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({
        error: `invalid parameter ${parameter}: expected one of json, csv, ndjson, got ${JSON.stringify(query.slice(8))}`,
        parameter,
      });
    }
    const unknown = await app.request(`/api/v1/history?pair=USD/ZZZ&format=csv`);
    expect(unknown.status).toBe(400);
    expect(unknown.headers.get('content-type')).toContain('application/json');
    expect(await unknown.json()).toMatchObject({ parameter: 'pair' });
  });

  it("GET /api/v1/runs, the dashboard panels' endpoints, /healthz and /metrics", async () => {
    const runs = await json<RunsBody>('/api/v1/runs?limit=5');
    const stored = await w.db.query<{ run_id: string }>(
      'select run_id from pipeline_runs order by started_at desc, finished_at desc nulls first limit 5',
    );
    expect(runs.body.runs.map((r) => r.runId)).toEqual(stored.map((r) => r.run_id));

    const health = await json('/healthz');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'ok', database: 'reachable' });

    const archive = await json<ArchiveBody>('/api/v1/archive');
    expect(archive.body.archived.months).toBe(w.archivedMonths.length);
    expect(archive.body.months.filter((m) => m.state === 'archived').map((m) => m.month)).toEqual(w.archivedMonths);

    const rejected = await json<RejectedBody>('/api/v1/rejected?hours=1000');
    const rejects = await w.db.query<{ reason: string }>('select reason from rejected_rates order by rejected_at desc, rejected_id desc');
    expect(rejected.body.rejected.map((r) => r.reason)).toEqual(rejects.map((r) => r.reason));

    const comparison = await json<ComparisonBody>('/api/v1/comparison?pair=EUR/JPY');
    expect(comparison.body.legs.map((l) => l.quote)).toEqual(['EUR', 'JPY']);
    expect(comparison.body.legs[0]!.sources.map((s) => s.source).sort()).toEqual(['ecb', 'frankfurter', 'open-er-api']);

    const metrics = await get('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.type).toContain('text/plain');
    const counts = await w.db.query<{ status: string; n: number; loaded: string }>(
      `select status, count(*)::int as n, sum(loaded_count)::text as loaded from pipeline_runs where kind = 'demo' group by status order by status`,
    );
    for (const c of counts) expect(metrics.text).toContain(`fxpipe_runs{kind="demo",status="${c.status}"} ${c.n}\n`);
    expect(metrics.text).toContain(`fxpipe_rows_loaded{kind="demo"} ${counts.reduce((s, c) => s + Number(c.loaded), 0)}\n`);
    expect(metrics.text).toMatch(/^fxpipe_source_freshness_seconds\{source="frankfurter",state="ok"\} \d+(\.\d+)?$/m);
    expect(metrics.text).toMatch(/^fxpipe_run_duration_seconds\{quantile="0\.5"\} \d/m);
    expect(metrics.text).toContain('fxpipe_rejected_rows{reason="non_positive"} 1\n');
    expect(metrics.text).toMatch(/^# TYPE fxpipe_serve_requests_total counter$/m);
  });

  it('a bad parameter is a 400 naming it', async () => {
    const cases: [string, string, RegExp][] = [
      ['/api/v1/latest?base=EURO', 'base', /3-letter currency code/],
      ['/api/v1/latest?base=ZZZ', 'base', /unknown currency ZZZ/],
      ['/api/v1/convert?to=JPY', 'from', /required/],
      ['/api/v1/convert?from=EUR&to=J1Y', 'to', /3-letter/],
      ['/api/v1/convert?from=EUR&to=JPY&amount=1e5', 'amount', /decimal number/],
      ['/api/v1/convert?from=EUR&to=JPY&amount=100&at=yesterday', 'at', /ISO-8601/],
      ['/api/v1/convert?from=EUR&to=JPY&at=2024-02-30', 'at', /ISO-8601/],
      ['/api/v1/history?pair=USDEUR', 'pair', /BASE\/QUOTE/],
      ['/api/v1/history?pair=EUR/EUR', 'pair', /two different/],
      ['/api/v1/history?pair=USD/ZZZ', 'pair', /unknown currency ZZZ/],
      ['/api/v1/history?pair=USD/EUR&from=2024-13-01', 'from', /YYYY-MM-DD/],
      ['/api/v1/history?pair=USD/EUR&from=2024-05-01&to=2024-04-01', 'from', /after to=2024-04-01/],
      ['/api/v1/history?pair=USD/EUR&interval=hour', 'interval', /one of day, week, month/],
      ['/api/v1/history?pair=USD/EUR&format=xml', 'format', /one of json, csv, ndjson/],
      ['/api/v1/history?pair=USD/EUR&source=bank', 'source', /one of/],
      ['/api/v1/runs?limit=0', 'limit', /1 to 1000/],
    ];
    for (const [path, parameter, message] of cases) {
      const r = await json<ErrorBody>(path);
      expect(r.status, path).toBe(400);
      expect(r.body.parameter, path).toBe(parameter);
      expect(r.body.error, path).toMatch(new RegExp(`^invalid parameter ${parameter}: `));
      expect(r.body.error, path).toMatch(message);
    }
    const missing = await json('/api/v1/nothing');
    expect(missing).toEqual({ status: 404, body: { error: 'no such route: GET /api/v1/nothing' } });
  });

  it('every answer, errors included, carries the security headers: scripts, styles and images only from itself, no framing, no sniffing, no referrer', async () => {
    for (const path of ['/', '/api/v1/latest', '/api/v1/latest?base=EURO', '/api/v1/nothing']) {
      const { headers } = await get(path);
      const policy = Object.fromEntries(
        (headers.get('content-security-policy') ?? '')
          .split(';')
          .map((d) => d.trim().split(/\s+/))
          .map(([name, ...values]) => [name!, values] as const),
      );
      expect(policy, path).toMatchObject({
        'default-src': ["'self'"],
        'img-src': ["'self'", 'data:'],
        'style-src': ["'self'"],
        'script-src': ["'self'"],
        'frame-ancestors': ["'none'"],
      });
      expect(headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(headers.get('referrer-policy'), path).toBe('no-referrer');
      expect(headers.get('x-frame-options'), path).toBe('SAMEORIGIN');
    }
  });

  it('with FXPIPE_API_TOKEN, the API, metrics and dashboard need it; /healthz does not; the token is never printed', async () => {
    const guarded = await startServe(w.database, w.home, { FXPIPE_API_TOKEN: TOKEN, FXPIPE_LOG_LEVEL: 'debug' });
    try {
      const at = (path: string, init: RequestInit = {}) => fetch(`${guarded.url}${path}`, { redirect: 'manual', ...init });
      expect((await at('/api/v1/latest')).status).toBe(401);
      expect((await at('/api/v1/latest', { headers: { Authorization: 'Bearer wrong-token-000000000' } })).status).toBe(401);
      const ok = await at('/api/v1/latest', { headers: { Authorization: `Bearer ${TOKEN}` } });
      expect(ok.status).toBe(200);
      expect((await at('/metrics')).status).toBe(401);
      expect((await at('/metrics', { headers: { Authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
      expect((await at('/healthz')).status).toBe(200);

      const page = await at('/');
      expect(page.status).toBe(401);
      expect(await page.text()).toContain('<form method="post" action="/login">');
      expect((await at('/assets/dashboard.js')).status).toBe(401);
      const wrong = await at('/login', { method: 'POST', body: new URLSearchParams({ token: 'nope' }) });
      expect(wrong.status).toBe(401);
      const signedIn = await at('/login', { method: 'POST', body: new URLSearchParams({ token: TOKEN }) });
      expect(signedIn.status).toBe(303);
      const cookie = signedIn.headers.get('set-cookie')!;
      expect(cookie).toMatch(/HttpOnly/);
      expect(cookie).toMatch(/SameSite=Strict/);
      const dashboard = await at('/', { headers: { Cookie: cookie.split(';')[0]! } });
      expect(dashboard.status).toBe(200);
      expect(await dashboard.text()).toContain('<title>fxpipe dashboard</title>');
    } finally {
      await guarded.stop();
    }
    expect(guarded.stdout()).toContain('token required');
    expect(guarded.stderr()).toContain('"path":"/api/v1/latest"');
    expect(guarded.stdout() + guarded.stderr()).not.toContain(TOKEN);

    const short = await runCli(['serve', '--port', '0'], { env: { DATABASE_URL: w.database.url, FXPIPE_API_TOKEN: 'short' } });
    expect(short.code).toBe(2);
    expect(short.stderr).toBe('fxpipe: invalid setting FXPIPE_API_TOKEN: expected at least 16 characters\n');
  });

  it('/healthz: 200 while serving from the database, fresh or stale; 503 when the database is gone and nothing is kept; bad flags exit 2', async () => {
    const empty = await createTestDatabase();
    const db = await empty.open();
    await initWarehouse(db);
    await db.close();
    const stale = await startServe(empty, w.home);
    try {
      const noData = await fetch(`${stale.url}/healthz`);
      expect(noData.status).toBe(200);
      expect(await noData.json()).toMatchObject({ status: 'stale', serving: 'database', database: 'reachable' });
      await empty.drop();
      const gone = await fetch(`${stale.url}/healthz`);
      expect(gone.status).toBe(503);
      expect(await gone.json()).toEqual({ status: 'down', serving: 'none', database: 'unreachable', freshness: [] });
      const api = await fetch(`${stale.url}/api/v1/latest`);
      expect(api.status).toBe(503);
      expect(await api.json()).toEqual({ error: 'the database is unavailable: try again shortly' });
    } finally {
      await stale.stop();
    }

    const port = await runCli(['serve', '--port', 'http'], { env: { DATABASE_URL: w.database.url } });
    expect(port.code).toBe(2);
    expect(port.stderr).toBe('fxpipe: invalid --port "http": expected a whole number from 0 to 65535\n');
    const listen = await runCli(['serve', '--listen', 'example.com'], { env: { DATABASE_URL: w.database.url } });
    expect(listen.code).toBe(2);
    expect(listen.stderr).toMatch(/^fxpipe: invalid --listen "example.com": expected an IP address/);
    const busy = await runCli(['serve', '--port', new URL(served.url).port], { env: { DATABASE_URL: w.database.url } });
    expect(busy.code).toBe(1);
    expect(busy.stderr).toBe(`fxpipe: port ${new URL(served.url).port} on 127.0.0.1 is already in use: choose another with --port\n`);
  });
});
