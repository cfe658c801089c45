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
import { RateDecimal } from '../transform/decimal.js';
import { checkProductionRates } from '../verify/check.js';
import { parseProductionRates } from '../verify/production-rates.js';
import { openDb, type Target } from '../warehouse/connection.js';
import type { Db } from '../warehouse/db.js';
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
  const convert = (db: Db) => db.query<{ rate: string }>(CONVERT_ALL, [rows.map((r) => r.base), rows.map((r) => r.quote), rows.map((r) => r.at)]);
  const peer: number[] = [];
  const ours: number[] = [];
  const [converted, first] = await onNewConnection(target, (db) => timed(() => convert(db)));
  peer.push(first);
  // The production file: api.convert's rate moved 0.01 %, or 2 % for every 33rd row.
  const off = (i: number) => i % 33 === 0;
  const csv = `base,quote,rate,at\n${rows.map((r, i) => {
    const rate = new RateDecimal(converted[i]!.rate).times(off(i) ? '1.02' : '1.0001').toSignificantDigits(10).toFixed();
    return `${r.base},${r.quote},${rate},${r.at.toISOString()}`;
  }).join('\n')}\n`;
  let deviates = 0;
  for (let repeat = 0; repeat < REPEATS; repeat++) {
    const [check, seconds] = await onNewConnection(target, (db) => timed(() =>
      checkProductionRates(db, parseProductionRates(csv, 'bench.csv'), { tolerancePct: '0.5', label: 'bench', now: new Date() })));
    ours.push(seconds);
    if (repeat > 0) peer.push((await onNewConnection(target, (db) => timed(() => convert(db))))[1]);
    // The sources agree within a few tenths of a percent: every row 2 % off must deviate, and hardly any other.
    const missed = check.rows.filter((row, i) => off(i) && row.verdict !== 'deviates');
    const flagged = check.rows.filter((row, i) => !off(i) && row.verdict !== 'ok');
    if (check.counts.no_rate > 0 || missed.length > 0 || flagged.length > rows.length / 100) {
      throw new Error(`bench:queries verify (${sample.label}): unexpected verdicts ${JSON.stringify(check.counts)}, e.g. ${JSON.stringify([...missed, ...flagged].slice(0, 3))}`);
    }
    deviates = check.counts.deviates;
  }
  return { label: sample.label, rows: rows.length, ours, peer, deviates, expectedDeviates: rows.filter((_, i) => off(i)).length };
}

const rate = (rows: number, seconds: number) => Math.round(rows / seconds);

export function verifyDetails(measured: VerifyMeasured[]): string[] {
  const lines = [
    `fxpipe verify on ${measured[0]?.rows ?? 0} production rows (random pairs, 1 in 33 moved 2 % off), each side on a new connection, ${REPEATS} times alternately, median: ` +
      'ours parses the CSV and runs checkProductionRates (the consensus of every source in force at each row\'s instant, the verdicts, every row stored in production_checks, one transaction); ' +
      'the peer is api.convert(1, base, quote, at) for the same rows in one statement.',
    '',
    '| rows at | verify s (each run) | verify rows/s | api.convert s (each run) | api.convert rows/s | rows flagged deviates (2 % off) |',
    '|---|---|---|---|---|---|',
  ];
  for (const m of measured) {
    lines.push(`| ${m.label} | ${m.ours.map((s) => s.toFixed(2)).join(', ')} | ${rate(m.rows, median(m.ours))} | ${m.peer.map((s) => s.toFixed(2)).join(', ')} | ${rate(m.rows, median(m.peer))} | ${m.deviates} (${m.expectedDeviates}) |`);
  }
  return lines;
}

export function verifyFigures(measured: VerifyMeasured[]): Figure[] {
  return measured.flatMap((m) => {
    const ours = rate(m.rows, median(m.ours));
    const peer = rate(m.rows, median(m.peer));
    return [
      { figure: `verify: ${m.rows} production rows at ${m.label}, rows/s vs the issue's limit`, ours: `${ours}`, peer: `${LIMIT_ROWS_PER_S}`, ratio: (ours / LIMIT_ROWS_PER_S).toFixed(2) },
      { figure: `verify: the same rows, rows/s vs api.convert of each row (one statement)`, ours: `${ours}`, peer: `${peer}`, ratio: (ours / peer).toFixed(2) },
    ];
  });
}
