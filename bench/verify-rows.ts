/**
 * Part of bench:queries: `fxpipe verify` on 10,000 production rows (issue 14: ≥ 5,000 rows/s), against the same rows'
 * api.convert calls in the same run. The rows are random pairs at random instants; their rates are api.convert's
 * (the peer's own answers), 1 in 33 moved 2 % off so the check has deviations to find, the rest 0.01 %.
 *
 * Both sides start on a new connection, as the command does: the peer is one statement calling api.convert for every
 * row (unnest, lateral); ours parses the production file (CSV text) and runs checkProductionRates, which computes the
 * consensus, the verdicts and stores every row in production_checks, in one transaction. Each is timed 3 times,
 * alternately; the median counts.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { RateDecimal } from '../src/transform/decimal.js';
import { checkProductionRates, type ProductionCheck } from '../src/verify/check.js';
import { ratesFrom } from '../src/verify/production-input.js';
import { productionRatesIn } from '../src/verify/production-rates.js';
import { openDb, type Target } from '../src/warehouse/connection.js';
import type { Db } from '../src/warehouse/db.js';
import type { Figure } from './report.js';

export interface VerifySample {
  /** What the rows' instants span, for the figure's label. */
  label: string;
  rows: { base: string; quote: string; at: Date }[];
}

export interface VerifyMeasured {
  label: string;
  rows: number;
  /** Seconds of each repetition. */
  ours: number[];
  peer: number[];
  deviates: number;
  expectedDeviates: number;
}

const REPEATS = 3;
/** Generous: the bench measures how long a check takes, the limit is not what it tests. */
const TIMEOUT_MS = 3_600_000;
const LIMIT_ROWS_PER_S = 5000;
const CONVERT_ALL = `
  select c.rate::text as rate
    from unnest($1::text[], $2::text[], $3::timestamptz[]) with ordinality as r(f, t, at, i)
   cross join lateral api.convert(1, r.f, r.t, r.at) c
   order by r.i`;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const result = await fn();
  return [result, (performance.now() - started) / 1000];
}

async function onNewConnection<T>(target: Target, fn: (db: Db) => Promise<T>): Promise<T> {
  const db = await openDb(target, { driver: 'direct', applicationName: 'fxpipe-bench-verify' });
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

export async function measureVerify(target: Target, sample: VerifySample): Promise<VerifyMeasured> {
  const { rows } = sample;
  const convert = (db: Db) =>
    db.query<{ rate: string }>(CONVERT_ALL, [rows.map((r) => r.base), rows.map((r) => r.quote), rows.map((r) => r.at)]);
  const peer: number[] = [];
  const ours: number[] = [];
  const [converted, first] = await onNewConnection(target, (db) => timed(() => convert(db)));
  peer.push(first);
  // The production file: api.convert's rate moved 0.01 %, or 2 % for every 33rd row.
  const off = (i: number) => i % 33 === 0;
  const csv = `base,quote,rate,at\n${rows
    .map((r, i) => {
      const rate = new RateDecimal(converted[i]!.rate)
        .times(off(i) ? '1.02' : '1.0001')
        .toSignificantDigits(10)
        .toFixed();
      return `${r.base},${r.quote},${rate},${r.at.toISOString()}`;
    })
    .join('\n')}\n`;
  let deviates = 0;
  for (let repeat = 0; repeat < REPEATS; repeat++) {
    const [check, seconds] = await onNewConnection(target, (db) =>
      timed(() =>
        checkProductionRates(db, productionRatesIn(csv, 'bench.csv'), {
          tolerancePct: '0.5',
          label: 'bench',
          now: new Date(),
          timeoutMs: TIMEOUT_MS,
          maxRows: 10_000_000,
        }),
      ),
    );
    ours.push(seconds);
    if (repeat > 0) peer.push((await onNewConnection(target, (db) => timed(() => convert(db))))[1]);
    // The sources agree within a few tenths of a percent: every row 2 % off must deviate, and hardly any other.
    const verdicts = await verdictsByLine(target, check);
    const missed = rows.map((_, i) => i).filter((i) => off(i) && verdicts.get(i + 2) !== 'deviates');
    const flagged = rows.map((_, i) => i).filter((i) => !off(i) && verdicts.get(i + 2) !== 'ok');
    if (check.counts.no_rate > 0 || missed.length > 0 || flagged.length > rows.length / 100) {
      throw new Error(
        `bench:queries verify (${sample.label}): unexpected verdicts ${JSON.stringify(check.counts)}, e.g. the rows of lines ${[
          ...missed,
          ...flagged,
        ]
          .slice(0, 3)
          .map((i) => i + 2)
          .join(', ')}`,
      );
    }
    deviates = check.counts.deviates;
  }
  return { label: sample.label, rows: rows.length, ours, peer, deviates, expectedDeviates: rows.filter((_, i) => off(i)).length };
}

/** Each row's verdict by its line (a CSV's rows start on line 2), as the check stored it. */
async function verdictsByLine(target: Target, check: ProductionCheck): Promise<Map<number, string>> {
  const rows = await onNewConnection(target, (db) =>
    db.query<{ line: number; verdict: string }>('select line, verdict from production_checks where check_id = $1', [check.checkId]),
  );
  return new Map(rows.map((row) => [row.line, row.verdict]));
}

const rate = (rows: number, seconds: number) => Math.round(rows / seconds);

export function verifyDetails(measured: VerifyMeasured[]): string[] {
  const lines = [
    `fxpipe verify on ${measured[0]?.rows ?? 0} production rows (random pairs, 1 in 33 moved 2 % off), each side on a new connection, ${REPEATS} times alternately, median: ` +
      "ours parses the CSV and runs checkProductionRates (the consensus of every source in force at each row's instant, the verdicts, every row stored in production_checks, one transaction); " +
      'the peer is api.convert(1, base, quote, at) for the same rows in one statement.',
    '',
    '| rows at | verify s (each run) | verify rows/s | api.convert s (each run) | api.convert rows/s | rows flagged deviates (2 % off) |',
    '|---|---|---|---|---|---|',
  ];
  for (const m of measured) {
    lines.push(
      `| ${m.label} | ${m.ours.map((s) => s.toFixed(2)).join(', ')} | ${rate(m.rows, median(m.ours))} | ${m.peer.map((s) => s.toFixed(2)).join(', ')} | ${rate(m.rows, median(m.peer))} | ${m.deviates} (${m.expectedDeviates}) |`,
    );
  }
  return lines;
}

export function verifyFigures(measured: VerifyMeasured[]): Figure[] {
  return measured.flatMap((m) => {
    const ours = rate(m.rows, median(m.ours));
    const peer = rate(m.rows, median(m.peer));
    return [
      {
        figure: `verify: ${m.rows} production rows at ${m.label}, rows/s vs the issue's limit`,
        ours: `${ours}`,
        peer: `${LIMIT_ROWS_PER_S}`,
        ratio: (ours / LIMIT_ROWS_PER_S).toFixed(2),
      },
      {
        figure: `verify: the same rows, rows/s vs api.convert of each row (one statement)`,
        ours: `${ours}`,
        peer: `${peer}`,
        ratio: (ours / peer).toFixed(2),
      },
    ];
  });
}

export interface ScalingRow {
  base: string;
  quote: string;
  at: Date;
  /** The rate the production file gives. */
  rate: string;
}

export interface ScalingMeasured {
  rows: number;
  seconds: number;
  /** The most this process held while checking, above what it held before (streaming: bounded, whatever the rows). */
  peakRssMb: number;
  counts: ProductionCheck['counts'];
}

/**
 * How a check's time grows with its rows (issue 26: linear; 40,000 rows at most 5× the time of 10,000): each size's
 * rows written to a CSV file and checked from it as `fxpipe verify --file` does (ratesFrom: the file streamed), on a
 * new connection, one size after another in the same run; peak RSS sampled every 50 ms.
 */
export async function measureVerifyScaling(target: Target, sizes: number[], rowAt: (i: number) => ScalingRow): Promise<ScalingMeasured[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fxpipe-bench-verify-'));
  const measured: ScalingMeasured[] = [];
  try {
    for (const size of sizes) {
      const file = path.join(dir, `production-${size}.csv`);
      const out = createWriteStream(file);
      out.write('base,quote,rate,at\n');
      for (let i = 0; i < size; i++) {
        const row = rowAt(i);
        if (!out.write(`${row.base},${row.quote},${row.rate},${row.at.toISOString()}\n`)) await once(out, 'drain');
      }
      out.end();
      await once(out, 'finish');
      console.error(`bench:queries: fxpipe verify scaling: ${size} rows …`);
      const before = process.memoryUsage().rss;
      let peak = before;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
      try {
        const [check, seconds] = await onNewConnection(target, (db) =>
          timed(() =>
            checkProductionRates(db, ratesFrom({ file }), {
              tolerancePct: '0.5',
              label: 'bench-scaling',
              now: new Date(),
              timeoutMs: TIMEOUT_MS,
              maxRows: 10_000_000,
              name: file,
            }),
          ),
        );
        if (check.total !== size) throw new Error(`bench:queries verify scaling: ${check.total} rows checked of ${size}`);
        measured.push({ rows: size, seconds, peakRssMb: (peak - before) / 2 ** 20, counts: check.counts });
      } finally {
        clearInterval(sampler);
        await rm(file, { force: true });
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return measured;
}

export function scalingDetails(measured: ScalingMeasured[]): string[] {
  const base = measured[0]!;
  return [
    `fxpipe verify by size: random pairs at random instants of the last 30 days, each size's CSV file streamed as \`fxpipe verify --file\` reads it, on a new connection, once each, in the same run; peak RSS above the process's own before the check.`,
    '',
    `| rows | seconds | rows/s | time ÷ ${base.rows} rows' time (linear: rows ÷ ${base.rows}) | peak RSS MB | ok / deviates / no_rate |`,
    '|---|---|---|---|---|---|',
    ...measured.map(
      (m) =>
        `| ${m.rows} | ${m.seconds.toFixed(2)} | ${rate(m.rows, m.seconds)} | ${(m.seconds / base.seconds).toFixed(2)} (${(m.rows / base.rows).toFixed(0)}) | ${m.peakRssMb.toFixed(0)} | ${m.counts.ok} / ${m.counts.deviates} / ${m.counts.no_rate} |`,
    ),
  ];
}

export function scalingFigures(measured: ScalingMeasured[]): Figure[] {
  const base = measured[0]!;
  return measured.slice(1).map((m) => {
    const times = m.rows / base.rows;
    // Issue 26: 4× the rows in at most 5× the time; every other size against the same allowance (1.25 × linear).
    const limit = times * 1.25;
    return {
      figure: `verify: ${m.rows} rows' time ÷ ${base.rows} rows' time, vs ${limit} (${times}× the rows, 1.25 × linear)`,
      ours: `${(m.seconds / base.seconds).toFixed(2)} (${m.seconds.toFixed(1)} s, ${m.peakRssMb.toFixed(0)} MB peak)`,
      peer: `${limit}`,
      ratio: (m.seconds / base.seconds / limit).toFixed(2),
    };
  });
}
