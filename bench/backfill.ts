/**
 * npm run bench:backfill — BENCH_YEARS (default 5) years of synthetic 4-hourly history for the 161 USD pairs of
 * 162 currencies, loaded with change detection off as a backfill chunk loads them, a year per transaction: the bulk
 * loader (COPY straight into the partitioned history, the source having no publication over the year yet — the way a
 * first backfill of a range goes; a range loaded before goes through a staging table and ON CONFLICT DO NOTHING),
 * the year's publications recorded (source_publications: every 4-hourly as-of, carrying every pair), and
 * rates_daily / rates_monthly rebuilt for the year's days (maintainReadModels, from the day of the publication
 * before the year's first). The peer, in the same run: psql \copy of the same rows (their run id included, as ours
 * record it) straight into the same partitioned table of a second scratch database on the same server (no
 * publications, no aggregates), a year per transaction, each year right after ours of the same year so that both meet the same load on a shared machine, and
 * each load after the rows of the load before it are vacuumed and analyzed (untimed), so that neither pays for autovacuum of the
 * other's rows. Each side's input is ready before its load is timed: the peer's file, ours' rows in memory.
 * Reports rows/s of both, their ratio (the issue's target: ≥ 0.8), the time spent on the aggregates, and how much
 * memory our loader adds while it runs.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../src/config.js';
import { hashSeed, mulberry32, normalSampler } from '../src/demo/prng.js';
import { loadSeed } from '../src/demo/seed.js';
import { bulkLoadHistory, HISTORY_COPY_COLUMNS, historyCopyLine, type HistoryRow } from '../src/warehouse/bulk-load.js';
import { openDirect, resolveTarget, type Target } from '../src/warehouse/connection.js';
import type { Db } from '../src/warehouse/db.js';
import { recreateDatabase } from '../src/warehouse/databases.js';
import { upsertCurrencies, upsertSource } from '../src/warehouse/dimensions.js';
import type { DirectDb } from '../src/warehouse/direct.js';
import { initWarehouse } from '../src/warehouse/init.js';
import { ensurePartitions } from '../src/warehouse/partitions.js';
import { insertPublications, noPublicationThrough, publicationsAround, utcDay, type Publication } from '../src/warehouse/publications.js';
import { maintainReadModels } from '../src/warehouse/read-models.js';
import { machineLine, report } from './report.js';

const YEARS = Number(process.env.BENCH_YEARS ?? 5);
const LAST_YEAR = 2024;
const SLOTS_PER_DAY = 6;
const HOURLY_VOLATILITY = 0.0008;
const MIB = 1024 * 1024;
/** The target for rows/s against psql \copy, aggregates maintained. */
const RATIO_TARGET = 0.8;

/** A seeded random walk from the seed's real rates, continued year after year: the same rows on every pass. */
class SyntheticHistory {
  readonly #levels: Float64Array;
  readonly #texts: (string | null)[];
  readonly #normal = normalSampler(mulberry32(hashSeed(42, YEARS)));

  constructor(
    private readonly quotes: { id: number; rate: number }[],
    private readonly baseId: number,
    private readonly sourceId: number,
  ) {
    this.#levels = Float64Array.from(quotes, (q) => q.rate);
    this.#texts = quotes.map(() => null);
  }

  *year(year: number): Generator<HistoryRow> {
    for (let day = new Date(Date.UTC(year, 0, 1)); day.getUTCFullYear() === year; day = new Date(day.getTime() + 86_400_000)) {
      const dateKey = Number(day.toISOString().slice(0, 10).replaceAll('-', ''));
      for (let slot = 0; slot < SLOTS_PER_DAY; slot++) {
        const rateTimestamp = new Date(day.getTime() + slot * (24 / SLOTS_PER_DAY) * 3_600_000).toISOString();
        for (let i = 0; i < this.quotes.length; i++) {
          const level = this.#levels[i]! * Math.exp(HOURLY_VOLATILITY * this.#normal());
          const rate = level.toFixed(Math.max(0, 7 - Math.floor(Math.log10(level))));
          const previous = this.#texts[i]!;
          this.#levels[i] = level;
          this.#texts[i] = rate;
          yield {
            dateKey,
            baseId: this.baseId,
            quoteId: this.quotes[i]!.id,
            sourceId: this.sourceId,
            rateTimestamp,
            rate,
            previousRate: previous,
            changePct: previous === null ? null : ((Number(rate) / Number(previous) - 1) * 100).toFixed(8),
          };
        }
      }
    }
  }
}

/** The year's publications as SyntheticHistory emits them: every slot, carrying every pair. */
function yearPublications(year: number, quoteIds: number[]): Publication[] {
  const publications: Publication[] = [];
  for (let at = Date.UTC(year, 0, 1); at < Date.UTC(year + 1, 0, 1); at += (24 / SLOTS_PER_DAY) * 3_600_000) {
    publications.push({ asOf: new Date(at), quoteIds });
  }
  return publications;
}

interface Prepared {
  db: DirectDb;
  target: Target;
  baseId: number;
  sourceId: number;
  quotes: { id: number; rate: number }[];
}

/** A fresh warehouse with the currencies, a source and every partition of the years. */
async function prepare(server: Target, database: string, firstYear: number): Promise<Prepared> {
  const target = await recreateDatabase(server, database);
  const db = await openDirect(target);
  await initWarehouse(db);
  const rates = loadSeed().usdRates;
  const ids = await upsertCurrencies(db, rates.keys());
  const sourceId = await upsertSource(db, 'bench', 'reference', 'synthetic');
  await ensurePartitions(db, `${firstYear}-01-01`, `${LAST_YEAR}-12-31`);
  const quotes = [...rates].filter(([code]) => code !== 'USD').map(([code, rate]) => ({ id: ids.get(code)!, rate: Number(rate) }));
  return { db, target, baseId: ids.get('USD')!, sourceId, quotes };
}

async function historyFingerprint(db: Db): Promise<string> {
  const [row] = await db.query<{ f: string }>(
    `select count(*) || ' rows, sum ' || sum(rate) || ', run ' || min(run_id::text) || ' on ' || count(run_id) || ', ' || count(extraction_id) || ' extractions' as f
       from fact_rates_history`,
  );
  return row!.f;
}

/** Vacuums and analyzes a database: what autovacuum would do next is done, untimed. */
async function quiet(db: Db): Promise<void> {
  await db.query('vacuum (analyze)');
}

/** psql \copy of a file into fact_rates_history; the password goes in PGPASSWORD, never on the command line. */
async function psqlCopy(target: Target, file: string): Promise<void> {
  const url = new URL(target.url);
  const password = decodeURIComponent(url.password);
  url.password = '';
  const command = `\\copy fact_rates_history (${HISTORY_COPY_COLUMNS.join(', ')}, extraction_id, run_id) from '${file}'`;
  const child = spawn('psql', [url.toString(), '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', command], {
    env: { ...process.env, PGPASSWORD: password },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  if (code !== 0) throw new Error(`psql exited ${code}: ${stderr.split(password).join('***').trim()}`);
}

async function main() {
  if (!Number.isInteger(YEARS) || YEARS < 1 || YEARS > 25)
    throw new Error(`BENCH_YEARS must be a whole number from 1 to 25, got ${process.env.BENCH_YEARS}`);
  const firstYear = LAST_YEAR - YEARS + 1;
  const years = Array.from({ length: YEARS }, (_, i) => firstYear + i);
  const server = await resolveTarget(loadConfig());
  const ours = await prepare(server, 'fxpipe_bench_backfill', firstYear);
  const peer = await prepare(server, 'fxpipe_bench_backfill_psql', firstYear);
  if (JSON.stringify(ours.quotes) !== JSON.stringify(peer.quotes))
    throw new Error('the two scratch databases gave the currencies different ids');

  // The run both loads record on every row (ours as a backfill chunk's run; the peer's file carries it too).
  const runId = randomUUID();
  // The peer's input: the same rows and columns, in the same COPY text format, a file per year, written before anything is timed.
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'fxpipe-bench-backfill-'));
  try {
    const files = new Map<number, string>();
    const replay = new SyntheticHistory(peer.quotes, peer.baseId, peer.sourceId);
    for (const year of years) {
      const file = path.join(scratch, `history-${year}.copy`);
      const out = createWriteStream(file);
      let piece = '';
      for (const row of replay.year(year)) {
        piece += historyCopyLine(row, `\t\\N\t${runId}`);
        if (piece.length >= 1 << 20) {
          if (!out.write(piece)) await once(out, 'drain');
          piece = '';
        }
      }
      out.write(piece);
      out.end();
      await once(out, 'finish');
      files.set(year, file);
    }
    console.error('psql: files written');

    // Year by year, ours then the peer's, so both meet the same load on a shared machine. Ours: as a backfill chunk,
    // one transaction per year; the peer: psql \copy of the year's file, one transaction per year.
    // The loader's memory: RSS while ours loads, beyond RSS just before (the year's rows already in memory).
    let loadBaseline: number | null = null;
    let peakGrowth = 0;
    let baselineRss = 0;
    const sampler = setInterval(() => {
      if (loadBaseline !== null) peakGrowth = Math.max(peakGrowth, process.memoryUsage.rss() - loadBaseline);
    }, 20);
    const history = new SyntheticHistory(ours.quotes, ours.baseId, ours.sourceId);
    const quoteIds = ours.quotes.map((q) => q.id);
    let rows = 0;
    let oursMs = 0;
    let psqlMs = 0;
    let aggregatesMs = 0;
    let previous: Publication | undefined;
    for (const year of years) {
      const publications = yearPublications(year, quoteIds);
      // Ours' input, like the peer's file, made before its load is timed: the random walk is the bench's, not the loader's.
      const yearRows = [...history.year(year)];
      // Each load starts on a quiet server (untimed): the rows the load before it wrote (the peer's, the other database)
      // already vacuumed and analyzed. Otherwise autovacuum of the rows just loaded fell on whichever load came next:
      // ours, loaded first each year, paid for both databases (seen: ours' second year 1.8 times its first, the peer's not).
      await quiet(peer.db);
      loadBaseline = process.memoryUsage.rss();
      baselineRss = Math.max(baselineRss, loadBaseline);
      const oursStarted = performance.now();
      await ours.db.transaction(async (tx) => {
        // As a backfill chunk decides it: nothing of the source stored at the year's as-ofs when it has no publication there.
        const around = await publicationsAround(tx, ours.sourceId, ours.baseId, publications[0]!.asOf);
        const nothingStored = noPublicationThrough(around, publications.at(-1)!.asOf);
        const { inserted } = await bulkLoadHistory(tx, yearRows, { extractionId: null, runId, nothingStored });
        rows += inserted;
        await insertPublications(tx, ours.sourceId, ours.baseId, publications);
        const started = performance.now();
        await maintainReadModels(tx, [
          { sourceId: ours.sourceId, baseId: ours.baseId, from: utcDay((previous ?? publications[0]!).asOf), to: `${year}-12-31` },
        ]);
        aggregatesMs += performance.now() - started;
      });
      oursMs += performance.now() - oursStarted;
      loadBaseline = null;
      previous = publications.at(-1);
      await quiet(ours.db);
      const psqlStarted = performance.now();
      await psqlCopy(peer.target, files.get(year)!);
      psqlMs += performance.now() - psqlStarted;
      console.error(
        `${year}: ${rows} rows so far; ours ${(oursMs / 1000).toFixed(1)} s (aggregates ${(aggregatesMs / 1000).toFixed(1)} s), psql ${(psqlMs / 1000).toFixed(1)} s so far`,
      );
    }
    clearInterval(sampler);
    const oursSeconds = oursMs / 1000;
    const psqlSeconds = psqlMs / 1000;
    const [aggregates] = await ours.db.query<{ daily: string; monthly: string }>(
      'select (select count(*) from rates_daily)::text as daily, (select count(*) from rates_monthly)::text as monthly',
    );

    const [oursFingerprint, peerFingerprint] = [await historyFingerprint(ours.db), await historyFingerprint(peer.db)];
    if (oursFingerprint !== peerFingerprint) throw new Error(`the loads differ: ours ${oursFingerprint}, psql ${peerFingerprint}`);

    const oursRate = rows / oursSeconds;
    const psqlRate = rows / psqlSeconds;
    report({
      bench: 'backfill',
      title: `${YEARS} years (${firstYear}–${LAST_YEAR}) of 4-hourly history, ${ours.quotes.length} pairs (${ours.quotes.length + 1} currencies): ${rows} rows, change detection off, aggregates maintained`,
      machine: await machineLine(ours.db, server.label),
      details: [
        '| loader (same rows, same partitioned table, same server) | seconds | rows/s |',
        '|---|---|---|',
        `| fxpipe, as a backfill chunk: COPY into fact_rates_history (nothing of the source stored over the year yet), publications, rates_daily / rates_monthly rebuilt for the year's days; a year per transaction | ${oursSeconds.toFixed(1)} | ${Math.round(oursRate)} |`,
        `| … of which rebuilding rates_daily / rates_monthly (${aggregates!.daily} daily rows, ${aggregates!.monthly} monthly rows in the end) | ${(aggregatesMs / 1000).toFixed(1)} | — |`,
        `| psql \\copy straight into fact_rates_history, a year per transaction (each right after ours of the same year; each load after the rows of the load before it are vacuumed and analyzed, untimed) | ${psqlSeconds.toFixed(1)} | ${Math.round(psqlRate)} |`,
      ],
      peerHeading: 'peer (same run)',
      figures: [
        {
          figure: `rows/s, aggregates maintained, vs psql \\copy (target ≥ ${RATIO_TARGET})`,
          ours: `${Math.round(oursRate)}`,
          peer: `${Math.round(psqlRate)}`,
          ratio: (oursRate / psqlRate).toFixed(2),
        },
        {
          figure: 'time rebuilding rates_daily / rates_monthly vs the whole load',
          ours: `${(aggregatesMs / 1000).toFixed(1)} s`,
          peer: `${oursSeconds.toFixed(1)} s`,
          ratio: (aggregatesMs / 1000 / oursSeconds).toFixed(2),
        },
        {
          figure:
            "RSS growth while our loader runs (sampled every 20 ms), vs RSS just before it (the year's rows in memory, the largest year)",
          ours: `+${(peakGrowth / MIB).toFixed(0)} MiB`,
          peer: `${(baselineRss / MIB).toFixed(0)} MiB`,
          ratio: (peakGrowth / baselineRss).toFixed(2),
        },
      ],
    });
  } finally {
    await rm(scratch, { recursive: true, force: true });
    await ours.db.close();
    await peer.db.close();
  }
}

main().catch((error) => {
  console.error(`bench:backfill failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
