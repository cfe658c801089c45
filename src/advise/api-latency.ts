import type { Db } from '../warehouse/db.js';
import type { QueryLatency } from './types.js';

const WARMUP = 3;

type Rng = () => number;

interface Sample {
  /** Currencies with a latest rate, and each one's preferred source. */
  codes: string[];
  sourceOf: Map<string, string>;
  /** The span of the hot history, for the `at` of a past conversion and a year of daily aggregates. */
  firstMs: number;
  lastMs: number;
}

interface ApiQuery {
  query: string;
  sql: string;
  params(rng: Rng, s: Sample): unknown[];
}

const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)]!;
const pair = (rng: Rng, s: Sample): [string, string] => {
  const from = pick(rng, s.codes);
  let to = pick(rng, s.codes);
  for (let i = 0; to === from && i < 10; i++) to = pick(rng, s.codes);
  return [from, to];
};
const quoteOf = (rng: Rng, s: Sample) =>
  pick(
    rng,
    s.codes.filter((c) => c !== 'USD'),
  );
const between = (rng: Rng, from: number, to: number) => new Date(from + Math.floor(rng() * Math.max(1, to - from)));

/** The read paths Make.com scenarios and analysts use, as they use them (the `api` schema). */
const API_QUERIES: ApiQuery[] = [
  {
    query: 'latest rate (api.latest_rates)',
    sql: `select * from api.latest_rates where base = 'USD' and quote = $1 and preferred`,
    params: (rng, s) => [quoteOf(rng, s)],
  },
  {
    query: 'cross rate (api.cross_rates)',
    sql: 'select * from api.cross_rates where from_currency = $1 and to_currency = $2',
    params: (rng, s) => pair(rng, s),
  },
  {
    query: 'convert now (api.convert)',
    sql: 'select * from api.convert(100, $1, $2)',
    params: (rng, s) => pair(rng, s),
  },
  {
    query: 'convert at a past time (api.convert)',
    sql: 'select * from api.convert(100, $1, $2, $3::timestamptz)',
    params: (rng, s) => [...pair(rng, s), between(rng, s.firstMs, s.lastMs).toISOString()],
  },
  {
    query: 'a year of daily rates (api.daily_rates)',
    sql: `select * from api.daily_rates where base = 'USD' and quote = $1 and source = $2 and date between $3::date - 364 and $3::date`,
    params: (rng, s) => {
      const quote = quoteOf(rng, s);
      return [quote, s.sourceOf.get(quote), between(rng, s.firstMs, s.lastMs).toISOString().slice(0, 10)];
    },
  },
];

/**
 * Each api query `samples` times now, on this connection, with random pairs and times drawn from the data
 * (after a few unrecorded calls): client-side round trips, as a reader sees them. Read-only.
 * An empty warehouse yields no samples rather than invented ones.
 */
export async function sampleApiQueries(db: Db, samples: number): Promise<QueryLatency[]> {
  const sample = await sampleFrame(db);
  const rng = Math.random;
  const out: QueryLatency[] = [];
  for (const q of API_QUERIES) {
    if (!sample) {
      out.push({ query: q.query, sql: q.sql, samples: 0, errors: 0, p50Ms: null, p99Ms: null });
      continue;
    }
    const times: number[] = [];
    let errors = 0;
    for (let i = 0; i < WARMUP + samples; i++) {
      const params = q.params(rng, sample);
      const started = performance.now();
      try {
        await db.query(q.sql, params);
      } catch {
        // A pair without a rate at that time is an answer readers get too (an error); it is counted, not timed.
        if (i >= WARMUP) errors++;
        continue;
      }
      if (i >= WARMUP) times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    out.push({ query: q.query, sql: q.sql, samples: times.length, errors, p50Ms: percentile(times, 0.5), p99Ms: percentile(times, 0.99) });
  }
  return out;
}

async function sampleFrame(db: Db): Promise<Sample | null> {
  const latest = await db.query<{ quote: string; source: string }>(
    `select quote, source from api.latest_rates where base = 'USD' and preferred`,
  );
  if (latest.length === 0) return null;
  const [span] = await db.query<{ first: Date | null; last: Date | null }>(
    'select min(rate_timestamp) as first, max(rate_timestamp) as last from fact_rates_history',
  );
  if (!span?.first || !span.last) return null;
  return {
    codes: ['USD', ...latest.map((r) => r.quote)],
    sourceOf: new Map(latest.map((r) => [r.quote, r.source])),
    firstMs: span.first.getTime(),
    lastMs: span.last.getTime(),
  };
}

function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}
