/**
 * npm run bench:archive — hot/cold tiering on 10 years of daily history for the 161 USD pairs of 162 currencies
 * (≈ 590k rows, generated in SQL in a scratch database on the configured server, embedded by default):
 *
 * 1. `fxpipe archive`'s engine moves every month older than 12 months to zstd Parquet in a scratch directory
 *    (export, upload, read-back verification, drop): rows/s, and the Parquet bytes against the archived
 *    partitions' pg_total_relation_size (table + indexes) measured just before.
 * 2. One pair's daily aggregate (min, max, count, open-to-close by day) over the 10 years through `fxpipe query`'s
 *    engine (hot rows exported from PostgreSQL + 9 years of Parquet in DuckDB), against the same query in PostgreSQL
 *    on the same rows, all hot, measured before archiving (the peer). Median of BENCH_REPEATS (5); both answers
 *    must be equal. And `select 1` through the same engine: the fixed cost every query pays.
 *
 * About a minute on 2 cores.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../config.js';
import { loadSeed } from '../demo/seed.js';
import { createLogger } from '../log.js';
import { cutoffDay } from '../tiers/age.js';
import { archiveHistory } from '../tiers/archive.js';
import { lastDay } from '../tiers/months.js';
import { monthlyPartitions } from '../tiers/history-partitions.js';
import { openObjectStore } from '../tiers/open-store.js';
import { runQuery } from '../tiers/query.js';
import { trimDecimal } from '../tiers/query-answer.js';
import { openDb, resolveTarget } from '../warehouse/connection.js';
import type { Db } from '../warehouse/db.js';
import { recreateDatabase } from '../warehouse/databases.js';
import { upsertCurrencies, upsertSource } from '../warehouse/dimensions.js';
import { DirectDb } from '../warehouse/direct.js';
import { initWarehouse } from '../warehouse/init.js';
import { ensurePartitions, monthStart } from '../warehouse/partitions.js';
import { machineLine, report } from './report.js';

const YEARS = 10;
const COLD_AGE = '12m';
const REPEATS = Number(process.env.BENCH_REPEATS ?? 5);
const MIB = 1024 * 1024;

/** The aggregate both engines run: USD/EUR by day, lowest, highest, observations, first and last rate of the day. */
const PG_AGGREGATE = `
  select h.date_key, min(h.rate)::text as low, max(h.rate)::text as high, count(*) as n,
         (array_agg(h.rate order by h.rate_timestamp))[1]::text as open,
         (array_agg(h.rate order by h.rate_timestamp desc))[1]::text as close
    from fact_rates_history h
    join dim_currency b on b.currency_id = h.base_currency_id and b.currency_code = 'USD'
    join dim_currency q on q.currency_id = h.quote_currency_id and q.currency_code = 'EUR'
   group by h.date_key order by h.date_key`;
const DUCK_AGGREGATE = `
  select date_key, min(rate) as low, max(rate) as high, count(*) as n, arg_min(rate, rate_timestamp) as open, arg_max(rate, rate_timestamp) as close
    from rates_history where base = 'USD' and quote = 'EUR' group by date_key order by date_key`;

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await fn();
  return { ms: performance.now() - started, value };
}

async function repeated<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const runs = [];
  for (let i = 0; i < REPEATS; i++) runs.push(await timed(fn));
  return { ms: median(runs.map((r) => r.ms)), value: runs[0]!.value };
}

/** Daily rates for every pair from first to last, a smooth deterministic path per currency; previous rate and change as a load stores them. */
async function generateHistory(db: Db, first: string, last: string): Promise<number> {
  const rates = loadSeed().usdRates;
  const ids = await upsertCurrencies(db, rates.keys());
  const sourceId = await upsertSource(db, 'bench', 'reference', 'synthetic');
  await ensurePartitions(db, first, last);
  const quotes = [...rates].filter(([code]) => code !== 'USD');
  await db.query(
    `insert into fact_rates_history (date_key, base_currency_id, quote_currency_id, source_id, rate_timestamp, rate, previous_rate, change_pct)
     select date_key, $1, quote_id, $2, at, rate, previous, round((rate / previous - 1) * 100, 8)
       from (select to_char(d, 'YYYYMMDD')::int as date_key, q.quote_id, d + interval '16 hours' as at, r.rate,
                    lag(r.rate) over (partition by q.quote_id order by d) as previous
               from unnest($3::smallint[], $4::numeric[]) as q(quote_id, level)
              cross join generate_series($5::date::timestamptz, $6::date::timestamptz, interval '1 day') as d
              cross join lateral (select round(q.level * (1 + 0.04 * sin(extract(epoch from d) / 86400 / 45 + q.quote_id))::numeric, 10) as rate) r) t`,
    [ids.get('USD'), sourceId, quotes.map(([code]) => ids.get(code)), quotes.map(([, rate]) => rate), first, last],
  );
  await db.query('vacuum analyze fact_rates_history');
  const [row] = await db.query<{ n: string }>('select count(*)::text as n from fact_rates_history');
  return Number(row?.n);
}

async function main() {
  if (!Number.isInteger(REPEATS) || REPEATS < 1 || REPEATS > 100) throw new Error(`BENCH_REPEATS must be a whole number from 1 to 100, got ${process.env.BENCH_REPEATS}`);
  const now = new Date();
  const first = monthStart(now, -(YEARS * 12 - 1));
  const yesterday = new Date(now.getTime() - 86_400_000).toISOString().slice(0, 10);
  const server = await resolveTarget(loadConfig());
  const target = await recreateDatabase(server, 'fxpipe_bench_archive');
  const db = await openDb(target, { driver: 'direct' });
  if (!(db instanceof DirectDb)) throw new Error('the direct access path is needed');
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'fxpipe-bench-archive-'));
  try {
    await initWarehouse(db);
    const generated = await timed(() => generateHistory(db, first, yesterday));
    console.error(`generated ${generated.value} rows (${first}..${yesterday}) in ${Math.round(generated.ms)} ms`);

    const cutoff = cutoffDay(COLD_AGE, now);
    const cold = (await monthlyPartitions(db)).filter((p) => lastDay(p.month) < cutoff);
    const [sizes] = await db.query<{ bytes: string }>(
      'select sum(pg_total_relation_size(c.oid))::text as bytes from pg_class c where c.relname = any($1::text[])',
      [cold.map((p) => p.name)],
    );
    const pgBytes = Number(sizes?.bytes);
    const allHot = await repeated(() => db.query<{ date_key: number; low: string; high: string; n: string; open: string; close: string }>(PG_AGGREGATE));
    console.error(`PostgreSQL, all hot: ${allHot.value.length} days, median ${allHot.ms.toFixed(1)} ms`);

    const store = openObjectStore(path.join(scratch, 'archive'));
    const archived = await timed(() =>
      archiveHistory(db, { store, cutoff, dryRun: false, lockWaitMs: 5000, log: createLogger('silent') }),
    );
    const result = archived.value;
    console.error(`archived ${result.months.length} months, ${result.rowsArchived} rows in ${Math.round(archived.ms)} ms`);

    const cacheDir = path.join(scratch, 'cache');
    const tiered = await repeated(() => runQuery(db, DUCK_AGGREGATE, { cacheDir }));
    const duckDays = tiered.value.rows.map((row) => row.map(String).join(' '));
    const pgDays = allHot.value.map((r) => [r.date_key, trimDecimal(r.low), trimDecimal(r.high), r.n, trimDecimal(r.open), trimDecimal(r.close)].join(' '));
    if (JSON.stringify(duckDays) !== JSON.stringify(pgDays)) throw new Error('the tiered answer differs from PostgreSQL\'s all-hot answer');
    const coldRows = await runQuery(db, `select tier, count(*) as n from rates_history group by tier order by tier`, { cacheDir });
    const fixedCost = await repeated(() => runQuery(db, 'select 1', { cacheDir }));

    const seconds = archived.ms / 1000;
    report({
      bench: 'archive',
      title: `${YEARS} years of daily history (${first}..${yesterday}), 161 USD pairs: ${generated.value} rows; months older than ${COLD_AGE} archived`,
      machine: await machineLine(db, server.label),
      details: [],
      peerHeading: 'peer or reference (same run)',
      figures: [
        {
          figure: `archive: ${result.months.length} months, ${result.rowsArchived} rows (export, Parquet, upload, read-back verification, drop)`,
          ours: `${seconds.toFixed(1)} s, ${Math.round(result.rowsArchived / seconds)} rows/s`, peer: '—', ratio: '—',
        },
        {
          figure: 'bytes: zstd Parquet vs the same partitions in PostgreSQL (pg_total_relation_size: table + indexes)',
          ours: `${(result.bytesArchived / MIB).toFixed(1)} MiB`, peer: `${(pgBytes / MIB).toFixed(1)} MiB`, ratio: (result.bytesArchived / pgBytes).toFixed(3),
        },
        {
          figure: `USD/EUR daily aggregate over ${YEARS} years (${pgDays.length} days): fxpipe query, ${coldRows.rows.map((r) => `${r[1]} ${r[0]}`).join(' + ')} rows, vs PostgreSQL all hot (median of ${REPEATS})`,
          ours: `${tiered.ms.toFixed(0)} ms`, peer: `${allHot.ms.toFixed(0)} ms`, ratio: (tiered.ms / allHot.ms).toFixed(2),
        },
        {
          figure: 'of which the fixed cost of every fxpipe query: `select 1` (snapshot export of the hot rows and dimensions, DuckDB set-up)',
          ours: `${fixedCost.ms.toFixed(0)} ms`, peer: '—', ratio: `${(fixedCost.ms / tiered.ms).toFixed(2)} of the query`,
        },
      ],
    });
  } finally {
    await db.close();
    await rm(scratch, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(`bench:archive failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
