/**
 * npm run bench:queries — the read paths of the `api` schema against BENCH_YEARS (5; `npm run bench` 27, the span of
 * the ECB's file, one monthly partition each) years of history for 162 currencies:
 * the latest rate of a pair (api.latest_rates, api.cross_rates), api.convert (latest and at a past time), and
 * one pair's daily aggregates over a year (api.daily_rates) and monthly aggregates over a year (api.monthly_rates);
 * then `fxpipe verify` on 10,000 production rows against the same rows' api.convert (verify-rows.ts).
 *
 * 1. A scratch database on the configured server (embedded by default), generated in SQL (INSERT … SELECT over
 *    generate_series, foreign-key triggers off where the role may): a primary source (open-er-api) every
 *    BENCH_SLOT_HOURS (4) hours for the years up to the start of today (UTC) for 155 USD pairs, 6 pegged
 *    currencies with only their first observation (what the change rule stores for a peg: its value never
 *    changes), a fallback source (frankfurter) publishing the ECB's 30 currencies once a day, its latest rate
 *    newer than the primary's, so source preference decides, and a reference (exchangerate-api) publishing every
 *    moving pair once a day at 22:00 UTC (fxpipe verify's consensus is a median of three sources for most pairs).
 *    The history ends today so that its newest publications are in force now (api.latest_rates' status,
 *    api.cross_rates and api.convert without `at` answer with rates at most max_rate_age old). Then the publications (the primary's: every slot, carrying every pair,
 *    pegs included; the fallback's derived from its history with fx_derive_publications), fact_rates_current moved
 *    to the latest publication, rates_daily / rates_monthly built once (maintainReadModels), VACUUM ANALYZE.
 * 2. Server-side time: EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) of each query BENCH_EXPLAINS (200) times on one
 *    connection with random pairs / dates (after 20 unrecorded warm-up calls): "Execution Time" and "Planning
 *    Time" against the issue's 1 ms; and the first call on each of 10 new connections (planning + execution).
 * 3. Under load: BENCH_CLIENTS (32) clients for BENCH_SECONDS (12) s per query with pgbench (-M prepared, per-
 *    transaction logs for p50/p99), or a Node load generator when pgbench is missing (BENCH_LOAD=node forces it);
 *    the peer, in the same run under the same load, is `select 1`: the floor of a round trip. The daily and monthly
 *    reads have a second peer, the same rows straight from their table by index; and every query's planning has one,
 *    the floor: one row of fact_rates_current by its primary key.
 *
 * BENCH_REUSE=1 measures the scratch database of the previous run again (pending migrations applied) instead of
 * building it: only while its history is recent enough to be in force (built less than max_rate_age, 7 days, ago).
 * About 5 minutes on 2 cores at the defaults; at 27 years of daily slots about 15.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { hashSeed, mulberry32 } from '../src/demo/prng.js';
import { loadSeed } from '../src/demo/seed.js';
import { ensureDates } from '../src/warehouse/calendar.js';
import { advanceCurrentFromHistory } from './current-from-history.js';
import { openDb, resolveTarget, type Target } from '../src/warehouse/connection.js';
import type { Db } from '../src/warehouse/db.js';
import { databaseTarget, recreateDatabase } from '../src/warehouse/databases.js';
import { upsertCurrencies, upsertSource } from '../src/warehouse/dimensions.js';
import { initWarehouse } from '../src/warehouse/init.js';
import { ensurePartitions } from '../src/warehouse/partitions.js';
import { maintainReadModels } from '../src/warehouse/read-models.js';
import { machineLine, report, type Figure } from './report.js';
import {
  measureVerify,
  measureVerifyScaling,
  scalingDetails,
  scalingFigures,
  verifyDetails,
  verifyFigures,
  type ScalingRow,
  type VerifyMeasured,
  type VerifySample,
} from './verify-rows.js';
import { dateKeyOf } from '../src/calendar/days.js';
import { RateDecimal } from '../src/transform/decimal.js';

const YEARS = Number(process.env.BENCH_YEARS ?? 5);
const TODAY = new Date();
/** The history's years end at the start of today (UTC): its newest publications are in force now. */
const HISTORY_END = Date.UTC(TODAY.getUTCFullYear(), TODAY.getUTCMonth(), TODAY.getUTCDate());
const HISTORY_START = Date.UTC(TODAY.getUTCFullYear() - YEARS, TODAY.getUTCMonth(), TODAY.getUTCDate());
const DAYS = (HISTORY_END - HISTORY_START) / 86_400_000;
/** The first month wholly inside the history, and how many whole months it holds. */
const FIRST_MONTH = Date.UTC(new Date(HISTORY_START).getUTCFullYear(), new Date(HISTORY_START).getUTCMonth() + 1, 1);
const MONTHS = YEARS * 12 - 1;
const SLOT_HOURS = Number(process.env.BENCH_SLOT_HOURS ?? 4);
const EXPLAINS = Number(process.env.BENCH_EXPLAINS ?? 200);
const WARMUP = 20;
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 32);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 12);
/** Distinct pairs each pgbench run draws from (one script per pair: pgbench variables are numbers only). */
const PGBENCH_SCRIPTS = 64;
const LIMIT_MS = 1;
const PRIMARY = 'open-er-api';
const FALLBACK = 'frankfurter';
/** A third source, so the consensus fxpipe verify compares with is a median of three for most pairs. */
const REFERENCE = 'exchangerate-api';
const VERIFY_ROWS = 10_000;
/** The sizes of the scaling run (issue 26: 10k, 100k and 1M rows; 40k for its 5× limit): BENCH_VERIFY_SIZES=10000,40000 to shorten it. */
const VERIFY_SIZES = (process.env.BENCH_VERIFY_SIZES ?? '10000,40000,100000,1000000').split(',').map(Number);
const DATABASE = 'fxpipe_bench_queries';
/**
 * Currencies pegged to the USD: their rate never changes, so the history holds only their first observation while
 * every publication carries them. api.usd_rate(code, at) then finds no history row on the publication's day and
 * answers from that day's rates_daily row: the slow path, exercised on purpose.
 */
const PEGGED = ['AED', 'BHD', 'JOD', 'OMR', 'QAR', 'SAR'];
/** New connections per query for the first-call figure. */
const FRESH = 10;

type Rng = () => number;

interface Universe {
  codes: string[];
  /** Quotes the fallback source publishes too. */
  fallbackCodes: Set<string>;
  /** Quotes with a full history (not pegged): the ones with daily aggregates every day. */
  moving: string[];
  /** dim_currency and dim_source ids, for the direct reads of rates_daily / rates_monthly. */
  currencyIds: Map<string, number>;
  sourceIds: Map<string, number>;
}

/** One measured query: its SQL with $n parameters, random parameters, and a pgbench script per pair. */
interface QuerySpec {
  key: string;
  label: string;
  sql: string;
  params: (rng: Rng) => unknown[];
  /** Rows every call must return. */
  rows: number;
  /** A pgbench script (pairs as literals, numbers as :variables) for the draw rng gives. */
  script: (rng: Rng) => string;
  /** The random stream it draws from (its key unless it is a peer drawing what its query draws). */
  stream?: string;
}

const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)]!;
/** A reproducible random stream per query and phase. */
const rngFor = (key: string, phase: number): Rng => mulberry32(hashSeed(phase, ...[...key].map((c) => c.charCodeAt(0))));
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

function pairOf(rng: Rng, u: Universe): [string, string] {
  const from = pick(rng, u.codes);
  let to = pick(rng, u.codes);
  while (to === from) to = pick(rng, u.codes);
  return [from, to];
}

function querySpecs(u: Universe): QuerySpec[] {
  const quotes = u.codes.filter((c) => c !== 'USD');
  const spanSeconds = (HISTORY_END - HISTORY_START) / 1000 - 1;
  const yearStarts = DAYS - 365;
  const sourceFor = (rng: Rng, quote: string) => (u.fallbackCodes.has(quote) && rng() < 0.5 ? FALLBACK : PRIMARY);
  return [
    {
      key: 'latest',
      label: 'latest rate of a pair: api.latest_rates, USD→quote, preferred',
      sql: `select * from api.latest_rates where base = 'USD' and quote = $1 and preferred`,
      params: (rng) => [pick(rng, quotes)],
      rows: 1,
      script: (rng) => `select * from api.latest_rates where base = 'USD' and quote = '${pick(rng, quotes)}' and preferred;\n`,
    },
    {
      key: 'cross',
      label: 'latest cross rate of a pair: api.cross_rates',
      sql: `select * from api.cross_rates where from_currency = $1 and to_currency = $2`,
      params: (rng) => pairOf(rng, u),
      rows: 1,
      script: (rng) => {
        const [a, b] = pairOf(rng, u);
        return `select * from api.cross_rates where from_currency = '${a}' and to_currency = '${b}';\n`;
      },
    },
    {
      key: 'convert',
      label: 'api.convert(100, from, to): latest',
      sql: `select * from api.convert(100, $1, $2)`,
      params: (rng) => pairOf(rng, u),
      rows: 1,
      script: (rng) => {
        const [a, b] = pairOf(rng, u);
        return `select * from api.convert(100, '${a}', '${b}');\n`;
      },
    },
    {
      key: 'convert_at',
      label: `api.convert(100, from, to, at): at a random time in the ${YEARS} years`,
      sql: `select * from api.convert(100, $1, $2, $3::timestamptz)`,
      params: (rng) => [...pairOf(rng, u), new Date(HISTORY_START + Math.floor(rng() * spanSeconds) * 1000).toISOString()],
      rows: 1,
      script: (rng) => {
        const [a, b] = pairOf(rng, u);
        return `\\set s random(0, ${spanSeconds})\nselect * from api.convert(100, '${a}', '${b}', to_timestamp(${HISTORY_START / 1000} + :s));\n`;
      },
    },
    {
      key: 'daily',
      label: "one pair's daily aggregates over a year: api.daily_rates, 365 days",
      sql: `select * from api.daily_rates where base = 'USD' and quote = $1 and source = $2 and date between $3::date and $3::date + 364`,
      params: (rng) => {
        const quote = pick(rng, u.moving);
        return [quote, sourceFor(rng, quote), isoDay(HISTORY_START + Math.floor(rng() * yearStarts) * 86_400_000)];
      },
      rows: 365,
      script: (rng) => {
        const quote = pick(rng, u.moving);
        const first = `date '${isoDay(HISTORY_START)}' + :d::integer`;
        return (
          `\\set d random(0, ${yearStarts - 1})\n` +
          `select * from api.daily_rates where base = 'USD' and quote = '${quote}' and source = '${sourceFor(rng, quote)}' and date between ${first} and ${first} + 364;\n`
        );
      },
    },
    {
      key: 'monthly',
      label: "one pair's monthly aggregates over a year: api.monthly_rates, 12 months",
      sql: `select * from api.monthly_rates where base = 'USD' and quote = $1 and source = $2 and month between $3::date and ($3::date + interval '11 months')::date`,
      params: (rng) => {
        const quote = pick(rng, u.moving);
        const start = new Date(FIRST_MONTH);
        start.setUTCMonth(start.getUTCMonth() + Math.floor(rng() * (MONTHS - 11)));
        return [quote, sourceFor(rng, quote), isoDay(start.getTime())];
      },
      rows: 12,
      script: (rng) => {
        const quote = pick(rng, u.moving);
        const first = `(date '${isoDay(FIRST_MONTH)}' + make_interval(months => :m))::date`;
        return (
          `\\set m random(0, ${MONTHS - 12})\n` +
          `select * from api.monthly_rates where base = 'USD' and quote = '${quote}' and source = '${sourceFor(rng, quote)}' and month between ${first} and (${first} + interval '11 months')::date;\n`
        );
      },
    },
  ];
}

const DAILY_COLUMNS = 'date_key, open, high, low, close, average, stddev, observations, carried';
const MONTHLY_COLUMNS = 'month_key, open, high, low, close, average, stddev, observations, volatility_pct, publishing_days, days_in_force';

/**
 * The peers of the daily and monthly reads: the same rows (the same draws: a query's spec and its peer share a random
 * stream) straight from rates_daily / rates_monthly by their pair index, ids instead of codes, no view.
 */
function directSpecs(u: Universe): Record<'daily' | 'monthly', QuerySpec> {
  const usd = u.currencyIds.get('USD')!;
  const ids = (quote: string, source: string) => `${usd}, ${u.currencyIds.get(quote)!}, ${u.sourceIds.get(source)!}`;
  const [daily, monthly] = querySpecs(u).filter((s) => s.key === 'daily' || s.key === 'monthly');
  const dayExpr = 'make_date(date_key / 10000, date_key / 100 % 100, date_key % 100)';
  const pairOfDraw = (params: unknown[]) => [usd, u.currencyIds.get(params[0] as string)!, u.sourceIds.get(params[1] as string)!];
  return {
    daily: {
      key: 'daily_direct',
      stream: 'daily',
      label: 'the same daily rows straight from rates_daily by its pair index (the peer)',
      sql: `select ${DAILY_COLUMNS} from rates_daily where base_currency_id = $1 and quote_currency_id = $2 and source_id = $3 and ${dayExpr} between $4::date and $4::date + 364`,
      params: (rng) => {
        const drawn = daily!.params(rng);
        return [...pairOfDraw(drawn), drawn[2]];
      },
      rows: 365,
      script: (rng) => {
        const quote = pick(rng, u.moving);
        const source = u.fallbackCodes.has(quote) && rng() < 0.5 ? FALLBACK : PRIMARY;
        const first = `date '${isoDay(HISTORY_START)}' + :d::integer`;
        const [b, q, src] = ids(quote, source).split(', ');
        return (
          `\\set d random(0, ${DAYS - 365 - 1})\n` +
          `select ${DAILY_COLUMNS} from rates_daily where base_currency_id = ${b} and quote_currency_id = ${q} and source_id = ${src} and ${dayExpr} between ${first} and ${first} + 364;\n`
        );
      },
    },
    monthly: {
      key: 'monthly_direct',
      stream: 'monthly',
      label: 'the same monthly rows straight from rates_monthly by its pair index (the peer)',
      sql: `select ${MONTHLY_COLUMNS} from rates_monthly where base_currency_id = $1 and quote_currency_id = $2 and source_id = $3 and month_key between $4 and $5`,
      params: (rng) => {
        const drawn = monthly!.params(rng);
        const first = new Date(`${drawn[2] as string}T00:00:00Z`);
        const last = new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + 11, 1));
        const key = (d: Date) => d.getUTCFullYear() * 100 + d.getUTCMonth() + 1;
        return [...pairOfDraw(drawn), key(first), key(last)];
      },
      rows: 12,
      script: (rng) => {
        const quote = pick(rng, u.moving);
        const source = u.fallbackCodes.has(quote) && rng() < 0.5 ? FALLBACK : PRIMARY;
        const first = `(date '${isoDay(FIRST_MONTH)}' + make_interval(months => :m))`;
        const [b, q, src] = ids(quote, source).split(', ');
        return (
          `\\set m random(0, ${MONTHS - 12})\n` +
          `select ${MONTHLY_COLUMNS} from rates_monthly where base_currency_id = ${b} and quote_currency_id = ${q} and source_id = ${src}` +
          ` and month_key between to_char(${first}, 'YYYYMM')::integer and to_char(${first} + interval '11 months', 'YYYYMM')::integer;\n`
        );
      },
    },
  };
}

/** The production rows bench:queries verifies: random pairs at random instants of the last 30 days, and of the history. */
function verifySamples(u: Universe): VerifySample[] {
  const spans: [string, number][] = [
    ['random instants of the last 30 days', 30 * 86_400_000],
    [`random instants of the ${YEARS} years`, HISTORY_END - HISTORY_START - 86_400_000],
  ];
  return spans.map(([label, spanMs], k) => {
    const rng = rngFor('verify', 10 + k);
    return {
      label,
      rows: Array.from({ length: VERIFY_ROWS }, () => {
        const [base, quote] = pairOf(rng, u);
        return { base, quote, at: new Date(HISTORY_END - Math.floor((rng() * spanMs) / 1000) * 1000 - 1000) };
      }),
    };
  });
}

/**
 * Row i of the scaling run's production files: a random pair at a random instant of the last 30 days, at the pair's
 * latest cross rate (the check's work does not depend on its verdicts). Row i is the same row in every size.
 */
async function scalingRows(db: Db, u: Universe): Promise<(i: number) => ScalingRow> {
  const latest = await db.query<{ quote: string; rate: string }>(
    `select quote, rate::text as rate from api.latest_rates where base = 'USD' and preferred`,
  );
  const usd = new Map(latest.map((r) => [r.quote, new RateDecimal(r.rate)]));
  usd.set('USD', new RateDecimal(1));
  const codes = u.codes.filter((c) => usd.has(c));
  const spanS = 30 * 86_400 - 1;
  return (i) => {
    const rng = mulberry32(hashSeed(26, i));
    const base = pick(rng, codes);
    let quote = pick(rng, codes);
    while (quote === base) quote = pick(rng, codes);
    const at = new Date(HISTORY_END - Math.floor(rng() * spanS) * 1000 - 1000);
    return { base, quote, at, rate: usd.get(quote)!.div(usd.get(base)!).toSignificantDigits(10).toFixed() };
  };
}

const PEER: QuerySpec = { key: 'select1', label: 'select 1', sql: 'select 1', params: () => [], rows: 1, script: () => 'select 1;\n' };

/**
 * The floor of a read that plans: one row of fact_rates_current by its primary key (ids, no view, no function).
 * What PostgreSQL itself spends planning and executing the least a rate lookup can be, beside each query's.
 */
function floorSpec(u: Universe): QuerySpec {
  const usd = u.currencyIds.get('USD')!;
  const primary = u.sourceIds.get(PRIMARY)!;
  return {
    key: 'floor',
    label: 'the floor: one row of fact_rates_current by its primary key (the peer of planning)',
    sql: 'select rate from fact_rates_current where base_currency_id = $1 and quote_currency_id = $2 and source_id = $3',
    params: (rng) => [usd, u.currencyIds.get(pick(rng, u.moving))!, primary],
    rows: 1,
    script: (rng) =>
      `select rate from fact_rates_current where base_currency_id = ${usd} and quote_currency_id = ${u.currencyIds.get(pick(rng, u.moving))!} and source_id = ${primary};\n`,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The data

interface Built {
  db: Db;
  target: Target;
  universe: Universe;
  historyRows: number;
  seconds: number;
}

/** BENCH_REUSE=1: the scratch database of an earlier run as it is (pending migrations applied), to iterate quickly. */
async function reuse(server: Target): Promise<Built> {
  const started = performance.now();
  const target = databaseTarget(server, DATABASE);
  const db = await openDb(target, { driver: 'direct', applicationName: 'fxpipe-bench-queries' });
  await initWarehouse(db);
  await db.query('vacuum analyze');
  const codes = (await db.query<{ c: string }>('select currency_code as c from dim_currency order by 1')).map((r) => r.c);
  const fallback = await db.query<{ q: string }>(`select quote as q from api.latest_rates where base = 'USD' and source = $1`, [FALLBACK]);
  const [count] = await db.query<{ n: string }>('select count(*)::text as n from fact_rates_history');
  if (!codes.length || !Number(count!.n)) throw new Error(`BENCH_REUSE: ${DATABASE} holds no history; run without BENCH_REUSE first`);
  return {
    db,
    target,
    historyRows: Number(count!.n),
    seconds: (performance.now() - started) / 1000,
    universe: {
      codes,
      fallbackCodes: new Set(fallback.map((r) => r.q)),
      moving: codes.filter((c) => c !== 'USD' && !PEGGED.includes(c)),
      ...(await dimensionIds(db)),
    },
  };
}

async function build(server: Target): Promise<Built> {
  const started = performance.now();
  let mark = started;
  const lap = () => {
    const now = performance.now();
    const text = `${((now - mark) / 1000).toFixed(1)} s`;
    mark = now;
    return text;
  };
  const target = await recreateDatabase(server, DATABASE);
  const db = await openDb(target, { driver: 'direct', applicationName: 'fxpipe-bench-queries' });
  await initWarehouse(db);
  const seed = loadSeed();
  const ids = await upsertCurrencies(db, seed.usdRates.keys());
  const usd = ids.get('USD')!;
  const primaryId = await upsertSource(db, PRIMARY, 'primary', 'synthetic');
  const fallbackId = await upsertSource(db, FALLBACK, 'fallback', 'synthetic');
  const referenceId = await upsertSource(db, REFERENCE, 'reference', 'synthetic');
  await ensureDates(db, isoDay(HISTORY_START), isoDay(HISTORY_END));
  await ensurePartitions(db, isoDay(HISTORY_START), isoDay(HISTORY_END));
  const quotes = [...seed.usdRates].filter(([code]) => code !== 'USD');
  const moving = quotes.filter(([code]) => !PEGGED.includes(code));
  const pegged = quotes.filter(([code]) => PEGGED.includes(code));
  const ecb = new Set(seed.ecbCurrencies.map((c) => (c === 'USD' ? 'EUR' : c)));
  const fallbackQuotes = moving.filter(([code]) => ecb.has(code));
  const idsOf = (list: [string, string][]) => list.map(([code]) => ids.get(code)!);
  const ratesOf = (list: [string, string][], factor = 1) => list.map(([, rate]) => Number(rate) * factor);

  // A smooth path per currency (a slow and a weekly swing around the seed's rate) plus noise, 6 significant digits;
  // every observation stored (change detection off, as in bench:backfill).
  const insert = (quoteIds: number[], rates: number[], sourceId: number, from: string, to: string, step: string, swing = 1) =>
    db.query(
      `insert into fact_rates_history (date_key, base_currency_id, quote_currency_id, source_id, rate_timestamp, rate)
       select to_char(ts at time zone 'UTC', 'YYYYMMDD')::integer, $1, q.id, $2, ts, round(x::numeric, greatest(0, 6 - floor(log(x))::integer))
         from unnest($3::smallint[], $4::float8[]) as q(id, rate)
        cross join generate_series($5::timestamptz, $6::timestamptz, $7::interval) as ts
        cross join lateral (select q.rate * exp($8 * (0.08 * sin(extract(epoch from ts) / (5e6 * (1 + q.id % 7)) + q.id)
                                                      + 0.01 * sin(extract(epoch from ts) / 6e5 + 3 * q.id)
                                                      + 0.002 * (random() - 0.5))) as x) r`,
      [usd, sourceId, quoteIds, rates, from, to, step, swing],
    );
  await db.query('select setseed(0.42)');
  // The rows are valid by construction: skip the per-row foreign-key triggers where the role may (superuser), ~5× faster.
  const triggersOff = await db.query(`set session_replication_role = replica`).then(
    () => true,
    () => false,
  );
  // A year per statement.
  for (let year = 0; year < YEARS; year++) {
    const from = Date.UTC(TODAY.getUTCFullYear() - YEARS + year, TODAY.getUTCMonth(), TODAY.getUTCDate());
    const to = Date.UTC(TODAY.getUTCFullYear() - YEARS + year + 1, TODAY.getUTCMonth(), TODAY.getUTCDate()) - 1000;
    await db.transaction(() =>
      insert(idsOf(moving), ratesOf(moving), primaryId, new Date(from).toISOString(), new Date(to).toISOString(), `${SLOT_HOURS} hours`),
    );
    console.error(`bench:queries: ${isoDay(from)}..${isoDay(to)} of ${PRIMARY} generated (${lap()})`);
  }
  // The pegs: one observation at the start, never a move since.
  await insert(
    idsOf(pegged),
    ratesOf(pegged),
    primaryId,
    `${isoDay(HISTORY_START)}T00:00:00Z`,
    `${isoDay(HISTORY_START)}T00:00:00Z`,
    '1 day',
    0,
  );
  // The fallback: once a day at 23:00 UTC, so its latest rate is newer than the primary's (20:00): preference, not recency, decides.
  await insert(
    idsOf(fallbackQuotes),
    ratesOf(fallbackQuotes, 1.001),
    fallbackId,
    `${isoDay(HISTORY_START)}T23:00:00Z`,
    `${isoDay(HISTORY_END - 86_400_000)}T23:00:00Z`,
    '1 day',
  );
  // The reference: every moving pair once a day at 22:00 UTC.
  await insert(
    idsOf(moving),
    ratesOf(moving, 0.9995),
    referenceId,
    `${isoDay(HISTORY_START)}T22:00:00Z`,
    `${isoDay(HISTORY_END - 86_400_000)}T22:00:00Z`,
    '1 day',
  );
  if (triggersOff) await db.query(`set session_replication_role = origin`);
  console.error(`bench:queries: ${FALLBACK}, ${REFERENCE} and pegs generated (${lap()})`);
  // The primary's publications: every slot, carrying every pair (the pegs too: their value is simply unchanged).
  // fx_derive_publications would end a peg's span at its only history row (and retire it there).
  await db.query(
    `insert into source_publications (source_id, base_currency_id, as_of, quote_ids)
     select $1, $2, ts, $3::smallint[] from generate_series($4::timestamptz, $5::timestamptz, $6::interval) as ts`,
    [
      primaryId,
      usd,
      [...idsOf(moving), ...idsOf(pegged)].sort((a, b) => a - b),
      new Date(HISTORY_START),
      new Date(HISTORY_END - 1000),
      `${SLOT_HOURS} hours`,
    ],
  );
  await db.query('select fx_derive_publications($1::smallint)', [fallbackId]);
  await db.query('select fx_derive_publications($1::smallint)', [referenceId]);
  const keys = { fromDateKey: dateKeyOf(isoDay(HISTORY_START)), toDateKey: dateKeyOf(isoDay(HISTORY_END)), now: new Date(HISTORY_END) };
  await advanceCurrentFromHistory(db, { baseId: usd, sourceId: primaryId, ...keys });
  await advanceCurrentFromHistory(db, { baseId: usd, sourceId: fallbackId, ...keys });
  await advanceCurrentFromHistory(db, { baseId: usd, sourceId: referenceId, ...keys });
  // Statistics first, as a warehouse that has lived has them (planned without any, the rebuild's joins can take hours).
  await db.query('analyze');
  console.error(`bench:queries: publications recorded, current rates moved to the latest, analyze (${lap()})`);
  await maintainReadModels(
    db,
    [primaryId, fallbackId, referenceId].map((sourceId) => ({
      sourceId,
      baseId: usd,
      from: isoDay(HISTORY_START),
      to: isoDay(HISTORY_END - 86_400_000),
    })),
  );
  console.error(`bench:queries: rates_daily and rates_monthly built (${lap()})`);
  await db.query('vacuum analyze');
  console.error(`bench:queries: vacuum analyze (${lap()})`);
  const [count] = await db.query<{ n: string }>('select count(*)::text as n from fact_rates_history');
  const codes = [...ids.keys()].sort();
  return {
    db,
    target,
    historyRows: Number(count!.n),
    seconds: (performance.now() - started) / 1000,
    universe: {
      codes,
      fallbackCodes: new Set(fallbackQuotes.map(([code]) => code)),
      moving: moving.map(([code]) => code),
      ...(await dimensionIds(db)),
    },
  };
}

async function dimensionIds(db: Db): Promise<Pick<Universe, 'currencyIds' | 'sourceIds'>> {
  const currencies = await db.query<{ code: string; id: number }>('select currency_code as code, currency_id as id from dim_currency');
  const sources = await db.query<{ name: string; id: number }>('select source_name as name, source_id as id from dim_source');
  return { currencyIds: new Map(currencies.map((r) => [r.code, r.id])), sourceIds: new Map(sources.map((r) => [r.name, r.id])) };
}

/** Source preference must decide where the fallback's rate is the newer one. */
async function checkPreference(db: Db, universe: Universe): Promise<void> {
  const code = [...universe.fallbackCodes].sort()[0]!;
  const rows = await db.query<{ source: string; preferred: boolean; newest: boolean }>(
    `select source, preferred, as_of = max(as_of) over () as newest from api.latest_rates where base = 'USD' and quote = $1`,
    [code],
  );
  const preferred = rows.find((r) => r.preferred);
  if (rows.length !== 3 || preferred?.source !== PRIMARY || preferred.newest) {
    throw new Error(`USD/${code}: expected three sources with the older primary preferred, got ${JSON.stringify(rows)}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Server-side time: EXPLAIN ANALYZE

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Function Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  'Shared Hit Blocks'?: number;
  'Shared Read Blocks'?: number;
  Plans?: PlanNode[];
}

interface Explained {
  Plan: PlanNode;
  'Planning Time': number;
  'Execution Time': number;
}

interface ServerStats {
  execMs: number[];
  planMs: number[];
  buffers: number[];
  /** Scan nodes of the last plan, partitions folded together. */
  shape: string;
}

function scans(node: PlanNode, out: Map<string, number>): Map<string, number> {
  const target = node['Index Name'] ?? node['Relation Name'] ?? node['Function Name'];
  if (target) {
    const name = `${node['Node Type']} ${target.replace(/_y\d{4}m\d{2}/, '_y…')}`;
    out.set(name, (out.get(name) ?? 0) + 1);
  }
  for (const child of node.Plans ?? []) scans(child, out);
  return out;
}

async function explain(db: Db, spec: QuerySpec, rng: Rng): Promise<ServerStats> {
  const stats: ServerStats = { execMs: [], planMs: [], buffers: [], shape: '' };
  for (let i = 0; i < WARMUP + EXPLAINS; i++) {
    const params = spec.params(rng);
    const [row] = await db.query<{ 'QUERY PLAN': Explained[] }>(`explain (analyze, buffers, format json) ${spec.sql}`, params);
    const result = row!['QUERY PLAN'][0]!;
    if (result.Plan['Actual Rows'] !== spec.rows) {
      throw new Error(`${spec.key} ${JSON.stringify(params)}: ${result.Plan['Actual Rows']} rows, expected ${spec.rows}`);
    }
    if (i < WARMUP) continue;
    stats.execMs.push(result['Execution Time']);
    stats.planMs.push(result['Planning Time']);
    stats.buffers.push((result.Plan['Shared Hit Blocks'] ?? 0) + (result.Plan['Shared Read Blocks'] ?? 0));
    if (i === WARMUP + EXPLAINS - 1) {
      stats.shape = [...scans(result.Plan, new Map())].map(([name, n]) => (n > 1 ? `${name} ×${n}` : name)).join(', ');
    }
  }
  return stats;
}

/** Planning + execution of the first call on a new connection: what a client that connects per query pays. */
async function firstCalls(target: Target, spec: QuerySpec, rng: Rng): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < FRESH; i++) {
    const client = new pg.Client({ connectionString: target.url, application_name: 'fxpipe-bench-queries' });
    await client.connect();
    try {
      const { rows } = await client.query<{ 'QUERY PLAN': Explained[] }>(
        `explain (analyze, buffers, format json) ${spec.sql}`,
        spec.params(rng),
      );
      const result = rows[0]!['QUERY PLAN'][0]!;
      times.push(result['Planning Time'] + result['Execution Time']);
    } finally {
      await client.end();
    }
  }
  return times;
}

// ---------------------------------------------------------------------------------------------------------------
// Under load: pgbench, or a Node load generator

interface LoadStats {
  p50: number;
  p99: number;
  mean: number;
  stddev: number;
  qps: number;
  count: number;
}

const percentile = (values: number[], p: number) => {
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
};

function meanStddev(values: number[]): [number, number] {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return [mean, Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length)];
}

function findPgbench(): { bin: string; version: string } | null {
  if (process.env.BENCH_LOAD === 'node') return null;
  const candidates = [process.env.PGBENCH, '/usr/lib/postgresql/15/bin/pgbench', 'pgbench'].filter((c): c is string => !!c);
  for (const bin of candidates) {
    const probe = spawnSync(bin, ['--version'], { encoding: 'utf8' });
    if (probe.status === 0) return { bin, version: probe.stdout.trim() };
  }
  return null;
}

/** The target's URL without its password, and the password (for PGPASSWORD). */
function withoutPassword(target: Target): { url: string; password: string } {
  const url = new URL(target.url);
  const password = decodeURIComponent(url.password);
  url.password = '';
  return { url: url.toString(), password };
}

async function pgbench(bin: string, target: Target, spec: QuerySpec, dir: string, rng: Rng): Promise<LoadStats> {
  const scripts = spec === PEER ? 1 : PGBENCH_SCRIPTS;
  const files: string[] = [];
  for (let i = 0; i < scripts; i++) {
    const file = path.join(dir, `${spec.key}-${i}.sql`);
    await writeFile(file, spec.script(rng));
    files.push(file);
  }
  const { url, password } = withoutPassword(target);
  const prefix = path.join(dir, `log-${spec.key}`);
  const args = [
    '-n',
    '-M',
    'prepared',
    '-c',
    String(CLIENTS),
    '-j',
    '2',
    '-T',
    String(SECONDS),
    '-l',
    `--log-prefix=${prefix}`,
    ...files.flatMap((f) => ['-f', `${f}@1`]),
    url,
  ];
  // The password goes in PGPASSWORD, never on the command line.
  const child = spawn(bin, args, { env: { ...process.env, PGPASSWORD: password }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  const redact = (text: string) => (password ? text.split(password).join('***') : text).trim();
  if (code !== 0) throw new Error(`pgbench (${spec.key}) exited ${code}: ${redact(stderr).split('\n').slice(-5).join(' / ')}`);
  const failed = /number of failed transactions: (\d+)/.exec(stdout);
  if (failed && Number(failed[1]) > 0) throw new Error(`pgbench (${spec.key}): ${failed[0]}`);
  const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(stdout);
  if (!tps) throw new Error(`pgbench (${spec.key}): no tps in its output: ${redact(stdout)}`);

  // Per-transaction logs, one file per thread: "client_id transaction_no latency_us script_no epoch_s epoch_us".
  const latencies: number[] = [];
  for (const name of await readdir(dir)) {
    if (!name.startsWith(`log-${spec.key}.`)) continue;
    for (const line of (await readFile(path.join(dir, name), 'utf8')).split('\n')) {
      const field = line.split(' ')[2];
      if (field) latencies.push(Number(field) / 1000);
    }
  }
  const [mean, stddev] = meanStddev(latencies);
  return { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), mean, stddev, qps: Number(tps[1]), count: latencies.length };
}

/** The equivalent without pgbench: CLIENTS connections, each running the prepared query back to back. */
async function nodeLoad(target: Target, spec: QuerySpec, rng: Rng): Promise<LoadStats> {
  const clients = Array.from(
    { length: CLIENTS },
    () => new pg.Client({ connectionString: target.url, application_name: 'fxpipe-bench-queries' }),
  );
  await Promise.all(clients.map((c) => c.connect()));
  const latencies: number[] = [];
  try {
    const started = performance.now();
    const deadline = started + SECONDS * 1000;
    await Promise.all(
      clients.map(async (client) => {
        while (performance.now() < deadline) {
          const t0 = performance.now();
          await client.query({ name: spec.key, text: spec.sql, values: spec.params(rng) });
          latencies.push(performance.now() - t0);
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    const [mean, stddev] = meanStddev(latencies);
    return {
      p50: percentile(latencies, 0.5),
      p99: percentile(latencies, 0.99),
      mean,
      stddev,
      qps: latencies.length / elapsed,
      count: latencies.length,
    };
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  }
}

// ---------------------------------------------------------------------------------------------------------------

const ms = (v: number) => (v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toFixed(3));

async function main() {
  for (const [name, value, min, max] of [
    ['BENCH_YEARS', YEARS, 2, 40],
    ['BENCH_SLOT_HOURS', SLOT_HOURS, 1, 24],
    ['BENCH_EXPLAINS', EXPLAINS, 10, 100000],
    ['BENCH_CLIENTS', CLIENTS, 1, 90],
    ['BENCH_SECONDS', SECONDS, 0, 3600],
  ] as const) {
    if (!Number.isInteger(value) || value < min || value > max) throw new Error(`${name} must be a whole number from ${min} to ${max}`);
  }
  const total = performance.now();
  const server = await resolveTarget(loadConfig());
  const built = process.env.BENCH_REUSE === '1' ? await reuse(server) : await build(server);
  const { db, target, universe } = built;
  let temp: string | undefined;
  try {
    await checkPreference(db, universe);
    console.error(`bench:queries: ${built.historyRows} history rows built in ${built.seconds.toFixed(1)} s; EXPLAIN ANALYZE …`);
    const queries = querySpecs(universe);
    const direct = directSpecs(universe);
    const floor = floorSpec(universe);
    const specs = [...queries, direct.daily, direct.monthly, floor];
    const serverSide: Record<string, ServerStats> = {};
    const fresh: Record<string, number[]> = {};
    for (const spec of specs) {
      serverSide[spec.key] = await explain(db, spec, rngFor(spec.stream ?? spec.key, 1));
      fresh[spec.key] = await firstCalls(target, spec, rngFor(spec.stream ?? spec.key, 2));
    }

    const load: Record<string, LoadStats> = {};
    const bench = SECONDS > 0 ? findPgbench() : null;
    if (SECONDS > 0) {
      temp = await mkdtemp(path.join(os.tmpdir(), 'fxpipe-bench-queries-'));
      for (const spec of [PEER, ...specs]) {
        console.error(`bench:queries: ${CLIENTS} clients × ${SECONDS} s: ${spec.key} (${bench ? 'pgbench' : 'node'}) …`);
        const rng = rngFor(spec.stream ?? spec.key, 3);
        load[spec.key] = bench ? await pgbench(bench.bin, target, spec, temp, rng) : await nodeLoad(target, spec, rng);
      }
    }

    const verified: VerifyMeasured[] = [];
    for (const sample of verifySamples(universe)) {
      console.error(`bench:queries: fxpipe verify, ${VERIFY_ROWS} rows at ${sample.label}, vs api.convert …`);
      verified.push(await measureVerify(target, sample));
    }

    const scaling = await measureVerifyScaling(target, VERIFY_SIZES, await scalingRows(db, universe));

    const moving = universe.moving.length;
    const title = `${YEARS} years (${isoDay(HISTORY_START)}..${isoDay(HISTORY_END - 86_400_000)}), ${universe.codes.length} currencies: ${SLOT_HOURS}-hourly ${PRIMARY} history for ${moving} USD pairs, ${PEGGED.length} pegged pairs with only their first observation, daily ${FALLBACK} for ${universe.fallbackCodes.size}, daily ${REFERENCE} (a reference) for ${moving}; ${built.historyRows} history rows, built in ${built.seconds.toFixed(0)} s`;
    const details: string[] = [];
    const figures: Figure[] = [];
    details.push(
      `load: ${SECONDS > 0 ? (bench ? `${bench.version}, -c ${CLIENTS} -j 2 -T ${SECONDS} -M prepared -n, ${PGBENCH_SCRIPTS} random pairs per query (a script each), dates and times random (\\set)` : `Node load generator, ${CLIENTS} pg clients, ${SECONDS} s per query, prepared statements`) : 'skipped (BENCH_SECONDS=0)'}`,
    );
    details.push('');
    details.push(
      `Server side: EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON), ${EXPLAINS} calls per query on one connection, random pairs and dates, after ${WARMUP} unrecorded ones.`,
    );
    details.push('');
    details.push(
      `| query | execution p50 / p99 ms | planning p50 / p99 ms | buffers (median) | first call on a new connection: planning + execution, median / max of ${FRESH}, ms | scans (last plan) |`,
    );
    details.push('|---|---|---|---|---|---|');
    for (const spec of specs) {
      const s = serverSide[spec.key]!;
      const f = fresh[spec.key]!;
      details.push(
        `| ${spec.label} | ${ms(percentile(s.execMs, 0.5))} / ${ms(percentile(s.execMs, 0.99))} | ${ms(percentile(s.planMs, 0.5))} / ${ms(percentile(s.planMs, 0.99))} | ${percentile(s.buffers, 0.5)} | ${ms(percentile(f, 0.5))} / ${ms(Math.max(...f))} | ${s.shape} |`,
      );
    }
    // Little's law: with every client always busy, the mean latency is clients ÷ throughput, exactly; pgbench's own
    // per-transaction times reuse a timestamp for answers that arrive at once, so a select 1 often logs 0 µs.
    const littleMs = (l: LoadStats) => (CLIENTS / l.qps) * 1000;
    if (SECONDS > 0) {
      details.push('');
      details.push(
        `Under load: ${CLIENTS} concurrent clients, ${SECONDS} s per query; latency as the client sees it, round trip included.`,
      );
      details.push('');
      details.push('| query | p50 ms | p99 ms | mean ± stddev ms (logged) | mean ms (clients ÷ queries/s) | queries/s |');
      details.push('|---|---|---|---|---|---|');
      for (const spec of [PEER, ...specs]) {
        const l = load[spec.key]!;
        details.push(
          `| ${spec.label} | ${ms(l.p50)} | ${ms(l.p99)} | ${ms(l.mean)} ± ${ms(l.stddev)} | ${ms(littleMs(l))} | ${Math.round(l.qps)} |`,
        );
      }
    }
    for (const spec of queries) {
      const s = serverSide[spec.key]!;
      const p50 = percentile(s.execMs, 0.5);
      figures.push({
        figure: `${spec.key}: server-side execution p50 (p99) vs the issue's limit`,
        ours: `${ms(p50)} ms (${ms(percentile(s.execMs, 0.99))})`,
        peer: `${LIMIT_MS} ms`,
        ratio: (p50 / LIMIT_MS).toFixed(2),
      });
      // Issue 28: planning no longer than execution.
      const plan = percentile(s.planMs, 0.5);
      figures.push({
        figure: `${spec.key}: planning p50 vs execution p50 (limit 1)`,
        ours: `${ms(plan)} ms`,
        peer: `${ms(p50)} ms`,
        ratio: (plan / p50).toFixed(2),
      });
    }
    {
      const f = serverSide[floor.key]!;
      const plan = percentile(f.planMs, 0.5);
      const exec = percentile(f.execMs, 0.5);
      figures.push({
        figure: 'floor (one row by primary key): planning p50 vs execution p50 — what PostgreSQL itself spends',
        ours: `${ms(plan)} ms`,
        peer: `${ms(exec)} ms`,
        ratio: (plan / exec).toFixed(2),
      });
    }
    if (SECONDS > 0) {
      const peer = load[PEER.key]!;
      const f = load[floor.key]!;
      figures.push({
        figure: `floor (one row by primary key): queries/s under ${CLIENTS} clients vs select 1`,
        ours: `${Math.round(f.qps)}`,
        peer: `${Math.round(peer.qps)}`,
        ratio: (f.qps / peer.qps).toFixed(3),
      });
      for (const spec of queries) {
        const l = load[spec.key]!;
        figures.push({
          figure: `${spec.key}: queries/s under ${CLIENTS} clients vs select 1`,
          ours: `${Math.round(l.qps)}`,
          peer: `${Math.round(peer.qps)}`,
          ratio: (l.qps / peer.qps).toFixed(3),
        });
        const own = spec.key === 'daily' ? direct.daily : spec.key === 'monthly' ? direct.monthly : undefined;
        if (own) {
          const d = load[own.key]!;
          figures.push({
            figure: `${spec.key}: queries/s under ${CLIENTS} clients vs ${own.key} (the same rows from ${spec.key === 'daily' ? 'rates_daily' : 'rates_monthly'} by index)`,
            ours: `${Math.round(l.qps)}`,
            peer: `${Math.round(d.qps)}`,
            ratio: (l.qps / d.qps).toFixed(3),
          });
        }
        figures.push({
          figure: `${spec.key}: latency under ${CLIENTS} clients, mean (p50 / p99) vs select 1`,
          ours: `${ms(littleMs(l))} ms (${ms(l.p50)} / ${ms(l.p99)})`,
          peer: `${ms(littleMs(peer))} ms (${ms(peer.p50)} / ${ms(peer.p99)})`,
          ratio: (littleMs(l) / littleMs(peer)).toFixed(1),
        });
      }
    }
    details.push('');
    details.push(...verifyDetails(verified));
    figures.push(...verifyFigures(verified));
    details.push('');
    details.push(...scalingDetails(scaling));
    figures.push(...scalingFigures(scaling));
    report({ bench: 'queries', title, machine: await machineLine(db, server.label), details, figures });
    console.error(`bench:queries: done in ${((performance.now() - total) / 1000).toFixed(0)} s`);
  } finally {
    if (temp) await rm(temp, { recursive: true, force: true });
    await db.close();
  }
}

main().catch((error) => {
  console.error(`bench:queries failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
