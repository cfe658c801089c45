/**
 * npm run bench:run — does a run's cost grow with the history stored? The real pipeline (runPipeline, open-er-api
 * served by the demo's provider server on 127.0.0.1) loads one day's 162 rates into two warehouses side by side:
 * one holding BENCH_YEARS (10) years of 4-hourly history for its 161 USD pairs, one holding a single day of it.
 *
 * Each warehouse is built as a writer would have left it, quickly, in SQL: one real run first (the dimensions and
 * the source), then 4-hourly values for every pair generated with generate_series (each a change row of
 * fact_rates_history), the source's publications derived from them (fx_derive_publications: one per as-of,
 * carrying every pair), fact_rates_current moved to the last one, and rates_daily / rates_monthly built once
 * (maintainReadModels over the whole span), VACUUM ANALYZE. The timed runs then continue that history, a day
 * apart (open-er-api publishes once a day), alternating between the two warehouses on the same payloads.
 *
 * The timed runs share one connection per warehouse, as `fxpipe schedule` does; then BENCH_FRESH_RUNS (5) more
 * each open a new one, as `fxpipe run` (a new process per slot) does: the server's caches for that session are cold
 * and every statement is planned afresh.
 *
 * Reported: the median of each stage over BENCH_RUNS (20) runs in each, their ratio (the issue's target: the
 * whole run ≤ 1.2 × the one-day warehouse's), the refresh stage against 10 ms and the whole run against 150 ms,
 * the runs on a new connection side by side, and the extract stage against a bare fetch + JSON.parse of the same
 * payload (the floor any pipeline pays).
 */
import os from 'node:os';
import { loadConfig } from '../src/config.js';
import { createMarket } from '../src/demo/market.js';
import { startProviderServer } from '../src/demo/provider-server.js';
import { createLogger } from '../src/log.js';
import { runPipeline, type RunResult } from '../src/jobs/pipeline.js';
import { SourceBreakers } from '../src/sources/breaker.js';
import { defaultHttpPolicy } from '../src/sources/http.js';
import { ensureDates } from '../src/warehouse/calendar.js';
import { openDb, resolveTarget, type Target } from '../src/warehouse/connection.js';
import { advanceCurrentFromHistory } from './current-from-history.js';
import type { SessionDb } from '../src/warehouse/db.js';
import { recreateDatabase } from '../src/warehouse/databases.js';
import { initWarehouse } from '../src/warehouse/init.js';
import { ensurePartitions } from '../src/warehouse/partitions.js';
import { maintainReadModels } from '../src/warehouse/read-models.js';
import { machineLine, report, type Figure } from './report.js';
import { dateKeyOf } from '../src/calendar/days.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const YEARS = Number(process.env.BENCH_YEARS ?? 10);
const FRESH_RUNS = Number(process.env.BENCH_FRESH_RUNS ?? 5);
const WARMUP = 2;
const SOURCE = 'open-er-api';
const SLOT_HOURS = 4;
const DAY_MS = 86_400_000;
/** The generated history ends here; the timed runs load the days after it. */
const HISTORY_END = Date.UTC(2025, 0, 1);
/** The issue's targets. */
const RATIO_TARGET = 1.2;
const REFRESH_TARGET_MS = 10;
const RUN_TARGET_MS = 150;
const STAGES = ['lock', 'extract', 'normalize', 'load', 'refresh', 'total'] as const;
type Stage = (typeof STAGES)[number];

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

interface Warehouse {
  label: string;
  target: Target;
  db: SessionDb;
  days: number;
  historyRows: number;
  publications: number;
  dailyRows: number;
  /** Setup phases: name → ms. */
  setup: [string, number][];
  results: RunResult[];
  /** Runs on a new connection each. */
  fresh: RunResult[];
}

type Run = (db: SessionDb) => Promise<RunResult>;

/**
 * A warehouse holding `days` days of 4-hourly history of SOURCE before HISTORY_END, with its publications,
 * current rates and read models, as the writers would have left it.
 */
async function buildWarehouse(
  server: Target,
  database: string,
  label: string,
  days: number,
  run: Run,
  setClock: (at: number) => void,
): Promise<Warehouse> {
  const setup: [string, number][] = [];
  let mark = performance.now();
  const lap = (name: string) => {
    const now = performance.now();
    setup.push([name, now - mark]);
    console.error(`bench:run: ${label}: ${name} (${seconds(now - mark)})`);
    mark = now;
  };
  const start = HISTORY_END - days * DAY_MS;
  const target = await recreateDatabase(server, database);
  const db = await openDb(target, { applicationName: 'fxpipe-bench-run' });
  await initWarehouse(db);

  // One real run, the day before the history starts: the currencies, the source and its first publication.
  setClock(start - DAY_MS + 3_600_000);
  const first = await run(db);
  if (first.status !== 'loaded') throw new Error(`${label}: the first run ${first.status}: ${first.error}`);
  const [ids] = await db.query<{ source_id: number; base_id: number }>(
    `select s.source_id, c.currency_id as base_id from dim_source s, dim_currency c where s.source_name = $1 and c.currency_code = 'USD'`,
    [SOURCE],
  );
  const { source_id: sourceId, base_id: baseId } = ids!;
  const from = isoDay(start - DAY_MS);
  const to = isoDay(HISTORY_END - DAY_MS);
  await ensureDates(db, from, to);
  await ensurePartitions(db, from, to);
  lap('first run, calendar and partitions');

  // Every pair every SLOT_HOURS: a slow and a weekly swing around the first run's rate, plus noise, 6 significant
  // digits, so every value differs from the one before (a change row each). A year per statement.
  await db.query('select setseed(0.42)');
  const triggersOff = await db.query('set session_replication_role = replica').then(
    () => true,
    () => false,
  );
  for (let yearStart = start; yearStart < HISTORY_END; yearStart += 365 * DAY_MS) {
    const yearEnd = Math.min(yearStart + 365 * DAY_MS, HISTORY_END);
    await db.query(
      `insert into fact_rates_history (date_key, base_currency_id, quote_currency_id, source_id, rate_timestamp, rate)
       select fx_date_key(ts), c.base_currency_id, c.quote_currency_id, c.source_id, ts,
              round(x::numeric, greatest(0, 6 - floor(log(x))::integer))
         from fact_rates_current c
        cross join generate_series($2::timestamptz, $3::timestamptz - interval '1 second', $4::interval) as ts
        cross join lateral (select c.rate::float8 * exp(0.05 * sin(extract(epoch from ts) / (5e6 * (1 + c.quote_currency_id % 7)) + c.quote_currency_id)
                                                        + 0.01 * sin(extract(epoch from ts) / 6e5 + 3 * c.quote_currency_id)
                                                        + 0.002 * (random() - 0.5)) as x) r
        where c.source_id = $1`,
      [sourceId, new Date(yearStart), new Date(yearEnd), `${SLOT_HOURS} hours`],
    );
  }
  if (triggersOff) await db.query('set session_replication_role = origin');
  lap('history generated');
  const [derived] = await db.query<{ n: string }>('select fx_derive_publications($1::smallint)::text as n', [sourceId]);
  await advanceCurrentFromHistory(db, {
    baseId,
    sourceId,
    fromDateKey: dateKeyOf(to),
    toDateKey: dateKeyOf(to),
    now: new Date(HISTORY_END),
  });
  // Statistics, as a warehouse that has lived has them: planned without any, the rebuild's joins over 10 years of
  // history can take hours.
  await db.query('analyze');
  lap(`${derived!.n} publications derived, current rates moved to the last, analyze`);
  const dailyRows = await db.transaction(async (tx) => {
    await maintainReadModels(tx, [{ sourceId, baseId, from, to }]);
    const [row] = await tx.query<{ n: string }>('select count(*)::text as n from rates_daily');
    return Number(row!.n);
  });
  lap('rates_daily and rates_monthly built');
  await db.query('vacuum analyze');
  lap('vacuum analyze');
  const [counts] = await db.query<{ history: string; publications: string }>(
    `select (select count(*) from fact_rates_history)::text as history, (select count(*) from source_publications)::text as publications`,
  );
  return {
    label,
    target,
    db,
    days,
    historyRows: Number(counts!.history),
    publications: Number(counts!.publications),
    dailyRows,
    setup,
    results: [],
    fresh: [],
  };
}

async function main() {
  if (!Number.isInteger(RUNS) || RUNS < 1 || RUNS > 1000)
    throw new Error(`BENCH_RUNS must be a whole number from 1 to 1000, got ${process.env.BENCH_RUNS}`);
  if (!Number.isInteger(YEARS) || YEARS < 1 || YEARS > 30)
    throw new Error(`BENCH_YEARS must be a whole number from 1 to 30, got ${process.env.BENCH_YEARS}`);
  if (!Number.isInteger(FRESH_RUNS) || FRESH_RUNS < 0 || FRESH_RUNS > 100)
    throw new Error(`BENCH_FRESH_RUNS must be a whole number from 0 to 100, got ${process.env.BENCH_FRESH_RUNS}`);
  const config = loadConfig();
  const server = await resolveTarget(config);
  let now = new Date(HISTORY_END);
  const provider = await startProviderServer({
    market: createMarket({ seed: 1, start: new Date(HISTORY_END - YEARS * 366 * DAY_MS) }),
    clock: () => now,
  });
  const log = createLogger('silent');
  const run: Run = (db) =>
    runPipeline(db, {
      kind: 'manual',
      sources: [SOURCE],
      verify: false,
      dryRun: false,
      changeThresholdPct: 0,
      deviationTolerancePct: 0.5,
      zScoreThreshold: 4,
      lockWaitMs: 5000,
      http: defaultHttpPolicy,
      settingsFor: (s) => ({ baseUrl: provider.baseUrls[s] }),
      breakers: new SourceBreakers(),
      clock: () => now,
      log,
    });
  const setClock = (at: number) => (now = new Date(at));

  const warehouses: Warehouse[] = [];
  try {
    const historyDays = Math.round((HISTORY_END - Date.UTC(2025 - YEARS, 0, 1)) / DAY_MS);
    warehouses.push(await buildWarehouse(server, 'fxpipe_bench_run_day', '1 day', 1, run, setClock));
    warehouses.push(await buildWarehouse(server, 'fxpipe_bench_run', `${YEARS} year${YEARS === 1 ? '' : 's'}`, historyDays, run, setClock));
    const [day, years] = warehouses as [Warehouse, Warehouse];

    // The timed runs: a day apart, after the history; each day's payload loaded into both, in alternating order.
    const peers: number[] = [];
    const loadBefore = os.loadavg()[0]!;
    for (let i = 0; i < RUNS + WARMUP; i++) {
      setClock(HISTORY_END + i * DAY_MS + 3_600_000);
      const t0 = performance.now();
      JSON.parse(await (await fetch(`${provider.baseUrls[SOURCE]}/v6/latest/USD`)).text());
      const peer = performance.now() - t0;
      for (const w of i % 2 ? [years, day] : [day, years]) {
        const result = await run(w.db);
        if (result.status !== 'loaded') throw new Error(`${w.label}: run ${i} ${result.status}: ${result.error}`);
        if (i >= WARMUP) w.results.push(result);
      }
      if (i >= WARMUP) peers.push(peer);
    }
    // As `fxpipe run` does: a new connection for each run; on the large warehouse, connect to close timed over TLS (as
    // fxpipe connects to its embedded server) and, the next day, unencrypted (the loopback-only server still takes that).
    const wall: Record<'tls' | 'plain', number[]> = { tls: [], plain: [] };
    for (let i = 0; i < FRESH_RUNS; i++) {
      for (const [n, encrypted] of [
        [0, i % 2 === 0],
        [1, i % 2 !== 0],
      ] as const) {
        setClock(HISTORY_END + (RUNS + WARMUP + 2 * i + n) * DAY_MS + 3_600_000);
        for (const w of (i + n) % 2 ? [years, day] : [day, years]) {
          const t0 = performance.now();
          const db = await openDb(encrypted ? w.target : { ...w.target, tls: false }, { applicationName: 'fxpipe-bench-run' });
          try {
            const result = await run(db);
            if (result.status !== 'loaded') throw new Error(`${w.label}: run on a new connection ${i} ${result.status}: ${result.error}`);
            if (encrypted) w.fresh.push(result);
          } finally {
            await db.close();
          }
          if (w === years) wall[encrypted ? 'tls' : 'plain'].push(performance.now() - t0);
        }
      }
    }
    const loadAfter = os.loadavg()[0]!;

    const stage = (w: Warehouse, key: Stage) => median(w.results.map((r) => r.stageMs[key]));
    const fresh = (w: Warehouse, key: Stage) => median(w.fresh.map((r) => r.stageMs[key]));
    const ratio = (key: Stage) => stage(years, key) / stage(day, key);
    const peer = median(peers);
    const describe = (w: Warehouse) =>
      `${w.label}: ${w.historyRows} history rows, ${w.publications} publications, ${w.dailyRows} rows of rates_daily, built in ${seconds(w.setup.reduce((t, [, ms]) => t + ms, 0))} ` +
      `(${w.setup.map(([name, ms]) => `${name} ${seconds(ms)}`).join('; ')})`;
    const figures: Figure[] = [
      {
        figure: `whole run p50: ${YEARS} years of history stored vs one day (target ≤ ${RATIO_TARGET})`,
        ours: `${stage(years, 'total').toFixed(1)} ms`,
        peer: `${stage(day, 'total').toFixed(1)} ms`,
        ratio: ratio('total').toFixed(2),
      },
      {
        figure: `refresh stage p50 (rates_daily / rates_monthly of the days the run touched), ${YEARS} years stored, vs the issue's ${REFRESH_TARGET_MS} ms`,
        ours: `${stage(years, 'refresh').toFixed(1)} ms`,
        peer: `${REFRESH_TARGET_MS} ms`,
        ratio: (stage(years, 'refresh') / REFRESH_TARGET_MS).toFixed(2),
      },
      {
        figure: `whole run p50, ${YEARS} years stored, vs the issue's ${RUN_TARGET_MS} ms`,
        ours: `${stage(years, 'total').toFixed(1)} ms`,
        peer: `${RUN_TARGET_MS} ms`,
        ratio: (stage(years, 'total') / RUN_TARGET_MS).toFixed(2),
      },
      ...(FRESH_RUNS > 0
        ? [
            {
              figure: `whole run p50 on a new connection each (as \`fxpipe run\`): ${YEARS} years stored vs one day`,
              ours: `${fresh(years, 'total').toFixed(1)} ms`,
              peer: `${fresh(day, 'total').toFixed(1)} ms`,
              ratio: (fresh(years, 'total') / fresh(day, 'total')).toFixed(2),
            },
          ]
        : []),
      ...(server.tls && FRESH_RUNS > 0
        ? [
            {
              figure: `whole run as \`fxpipe run\` does it (connect, run, close), ${YEARS} years stored: over TLS (fxpipe's own connections to its server) vs unencrypted`,
              ours: `${median(wall.tls).toFixed(1)} ms`,
              peer: `${median(wall.plain).toFixed(1)} ms`,
              ratio: (median(wall.tls) / median(wall.plain)).toFixed(2),
            },
          ]
        : []),
      {
        figure: 'extract stage vs bare fetch + JSON.parse of the same payload',
        ours: `${stage(years, 'extract').toFixed(1)} ms`,
        peer: `${peer.toFixed(1)} ms`,
        ratio: (stage(years, 'extract') / peer).toFixed(2),
      },
    ];
    report({
      bench: 'run',
      title: `${RUNS} runs of ${years.results[0]!.counts.extracted} rates into a warehouse holding ${YEARS} years of 4-hourly history (${years.historyRows} rows) and into one holding a day of it, alternately`,
      machine: await machineLine(years.db, server.label),
      details: [
        `- ${describe(day)}`,
        `- ${describe(years)}`,
        `- timed runs: ${RUNS} per warehouse on one connection each (as \`fxpipe schedule\`) after ${WARMUP} unrecorded, then ${FRESH_RUNS} on a new connection each (as \`fxpipe run\`); a day apart (a new publication each), the two warehouses alternately on the same payload; 1-minute load average ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after`,
        '',
        `| stage | one day stored, median ms | ${YEARS} years stored, median ms | ratio |`,
        '|---|---|---|---|',
        ...STAGES.map((key) => `| ${key} | ${stage(day, key).toFixed(1)} | ${stage(years, key).toFixed(1)} | ${ratio(key).toFixed(2)} |`),
        ...(FRESH_RUNS > 0
          ? STAGES.map(
              (key) =>
                `| ${key}, on a new connection | ${fresh(day, key).toFixed(1)} | ${fresh(years, key).toFixed(1)} | ${(fresh(years, key) / fresh(day, key)).toFixed(2)} |`,
            )
          : []),
      ],
      figures,
    });
  } finally {
    await provider.close();
    for (const w of warehouses) await w.db.close();
  }
}

main().catch((error) => {
  console.error(`bench:run failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
