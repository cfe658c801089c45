import fc from 'fast-check';
import { D, dateKeyOf } from './read-models-oracle.js';

/**
 * A random world of what two providers publish over three months, for the read-model property tests: the ECB (EUR
 * based, weekdays at its publication time, rebased to USD; loaded by runs and by backfills of its historical file) and
 * open-er-api (USD based, at random instants, with gaps longer than the maximum rate age). Values come from a small
 * set per currency, so exact repeats are frequent; a currency is sometimes left out (a pause or a retirement).
 */

export const DAY_MS = 86_400_000;
export const WINDOW_FROM = Date.UTC(2024, 1, 1);
export const WINDOW_DAYS = 90;
export const WINDOW_TO = WINDOW_FROM + WINDOW_DAYS * DAY_MS;
export const MAX_RATE_AGE_MS = 2 * DAY_MS;
export const MAX_RATE_AGE_SQL = '2 days';

export type SourceKey = 'ecb' | 'open-er-api';
/** Their ranks: convert and usd_rate prefer the primary. */
export const SOURCES: { name: SourceKey; rank: 'primary' | 'fallback' }[] = [
  { name: 'open-er-api', rank: 'primary' },
  { name: 'ecb', rank: 'fallback' },
];

export const QUOTES = ['EUR', 'JPY', 'GBP', 'CHF'] as const;
const ECB_QUOTES = ['JPY', 'GBP', 'CHF'] as const;
const LEVELS: Record<string, string[]> = {
  EUR: ['0.9', '0.92', '0.9125'],
  JPY: ['150.25', '151', '149.5'],
  GBP: ['0.79', '0.8', '0.7875'],
  CHF: ['0.88', '0.9', '0.875'],
};
/** EUR→USD in the ECB's files: USD→X = (EUR→X) / (EUR→USD) stays the exact decimal the world chose. */
const EUR_USD = ['1.25', '0.8', '1', '2'];

export interface WorldPublication {
  source: SourceKey;
  asOf: number;
  /** USD-based values of the pairs carried (what the warehouse stores). */
  values: Map<string, string>;
  /** ECB only: the day and its EUR-based cells as the provider writes them (USD included). */
  day?: string;
  eurCells?: Map<string, string>;
}

export interface World {
  ecb: WorldPublication[];
  openErApi: WorldPublication[];
}

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** Value code: 0 the pair is left out, 1–4 the pair's previous value again, 5–9 one of its levels. */
const valueCode = fc.integer({ min: 0, max: 9 });
const pause = fc.record({ start: fc.integer({ min: 0, max: WINDOW_DAYS - 1 }), days: fc.integer({ min: 0, max: 20 }) });

function pickValue(code: number, quote: string, previous: Map<string, string>): string | undefined {
  if (code === 0) return undefined;
  const levels = LEVELS[quote]!;
  const value = code <= 4 ? (previous.get(quote) ?? levels[0]!) : levels[(code - 5) % levels.length]!;
  previous.set(quote, value);
  return value;
}

const paused = (pauses: Record<string, { start: number; days: number }>, quote: string, at: number) => {
  const p = pauses[quote];
  const day = Math.floor((at - WINDOW_FROM) / DAY_MS);
  return p !== undefined && day >= p.start && day < p.start + p.days;
};

/** ECB: every weekday of the window (a few closures), at 16:00 Frankfurt time. */
function ecbWorld(
  days: { closed: boolean; usd: number; codes: number[] }[],
  pauses: Record<string, { start: number; days: number }>,
  publicationTime: (day: string) => Date,
): WorldPublication[] {
  const previous = new Map<string, string>();
  let usd = EUR_USD[0]!;
  const pubs: WorldPublication[] = [];
  days.forEach((d, i) => {
    const dayMs = WINDOW_FROM + i * DAY_MS;
    const weekday = new Date(dayMs).getUTCDay();
    if (weekday === 0 || weekday === 6 || d.closed) return;
    const day = isoDay(dayMs);
    const asOf = publicationTime(day).getTime();
    if (d.usd >= 4) usd = EUR_USD[d.usd - 4]!;
    const values = new Map<string, string>([['EUR', new D(1).div(usd).toFixed()]]);
    const eurCells = new Map<string, string>([['USD', usd]]);
    ECB_QUOTES.forEach((quote, q) => {
      const value = pickValue(d.codes[q]!, quote, previous);
      if (value === undefined || paused(pauses, quote, asOf)) return;
      values.set(quote, value);
      eurCells.set(quote, new D(value).times(usd).toFixed());
    });
    pubs.push({ source: 'ecb', asOf, values, day, eurCells });
  });
  return pubs;
}

/** Minutes to the next open-er-api publication: mostly 3–33 hours, sometimes 2–4 days, rarely 5–8 days. */
const gapMinutes = (n: number) => (n < 80 ? 180 + n * 23 : n < 95 ? 2 * 1440 + (n - 80) * 180 : 5 * 1440 + (n - 95) * 720);

function openErApiWorld(
  startMinutes: number,
  gaps: number[],
  codes: number[][],
  pauses: Record<string, { start: number; days: number }>,
): WorldPublication[] {
  const previous = new Map<string, string>();
  const pubs: WorldPublication[] = [];
  let at = WINDOW_FROM + startMinutes * 60_000;
  for (let i = 0; at < WINDOW_TO; i++) {
    const values = new Map<string, string>();
    QUOTES.forEach((quote, q) => {
      const value = pickValue(codes[i % codes.length]![q]!, quote, previous);
      if (value !== undefined && !paused(pauses, quote, at)) values.set(quote, value);
    });
    // A payload carries at least one rate (an empty one is a failed source, not a publication).
    if (values.size === 0) values.set('EUR', LEVELS.EUR![0]!);
    pubs.push({ source: 'open-er-api', asOf: at, values });
    at += gapMinutes(gaps[i % gaps.length]!) * 60_000;
  }
  return pubs;
}

const pausesArb = fc.record({ EUR: pause, JPY: pause, GBP: pause, CHF: pause });

export function worldArb(publicationTime: (day: string) => Date): fc.Arbitrary<World> {
  return fc
    .record({
      ecbDays: fc.array(
        fc.record({
          closed: fc.integer({ min: 0, max: 19 }).map((n) => n === 0),
          usd: fc.integer({ min: 0, max: 7 }),
          codes: fc.array(valueCode, { minLength: ECB_QUOTES.length, maxLength: ECB_QUOTES.length }),
        }),
        { minLength: WINDOW_DAYS, maxLength: WINDOW_DAYS },
      ),
      ecbPauses: pausesArb,
      start: fc.integer({ min: 0, max: 1439 }),
      gaps: fc.array(fc.integer({ min: 0, max: 99 }), { minLength: 40, maxLength: 40 }),
      codes: fc.array(fc.array(valueCode, { minLength: QUOTES.length, maxLength: QUOTES.length }), { minLength: 40, maxLength: 40 }),
      openPauses: pausesArb,
    })
    .map((w) => {
      const world: World = {
        ecb: ecbWorld(w.ecbDays, w.ecbPauses, publicationTime),
        openErApi: openErApiWorld(w.start, w.gaps, w.codes, w.openPauses),
      };
      // A counterexample names the world by its size; the seed and path fast-check prints replay it whole.
      return Object.assign(world, {
        [fc.toStringMethod]: () => `World(${world.ecb.length} ecb, ${world.openErApi.length} open-er-api publications)`,
      });
    });
}

/** One step of a sequence, interpreted against what is loaded when it runs (see the runner). */
export type Step =
  /** count consecutive publications not loaded yet, from position `at` (0..1) of those, oldest or newest first; `lost` bits: only stored in bronze. */
  | { kind: 'runs'; source: SourceKey; at: number; count: number; newestFirst: boolean; lost: number }
  /** The ECB historical file over `days` days from position `at` of the window. */
  | { kind: 'backfill'; at: number; days: number }
  | { kind: 'reprocess' }
  /** Archives every month before the first day of window month `cutoffMonth` (1: March, 2: April). */
  | { kind: 'archive'; cutoffMonth: number }
  | { kind: 'restore'; pick: number };

const position = fc.integer({ min: 0, max: 999 }).map((n) => n / 1000);

export const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('runs' as const),
      source: fc.constantFrom<SourceKey>('ecb', 'open-er-api'),
      at: position,
      count: fc.integer({ min: 1, max: 8 }),
      newestFirst: fc.boolean(),
      lost: fc.integer({ min: 0, max: 255 }).map((n) => (n < 160 ? 0 : n)),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('backfill' as const), at: position, days: fc.integer({ min: 1, max: 60 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reprocess' as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('archive' as const), cutoffMonth: fc.integer({ min: 1, max: 2 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('restore' as const), pick: fc.nat(3) }) },
);

/** The first two steps: much of the ECB's window backfilled, a stretch of open-er-api runs (so archives and out-of-order loads meet data). */
export const warmUpArb: fc.Arbitrary<Step[]> = fc.tuple(
  fc.record({
    kind: fc.constant('backfill' as const),
    at: fc.integer({ min: 0, max: 300 }).map((n) => n / 1000),
    days: fc.integer({ min: 40, max: 90 }),
  }),
  fc.record({
    kind: fc.constant('runs' as const),
    source: fc.constant<SourceKey>('open-er-api'),
    at: fc.integer({ min: 300, max: 900 }).map((n) => n / 1000),
    count: fc.integer({ min: 6, max: 12 }),
    newestFirst: fc.boolean(),
    lost: fc.constant(0),
  }),
);

/** Instants to ask api.usd_rate / api.convert about, as positions in the window. */
export const probesArb = fc.array(position, { minLength: 2, maxLength: 2 });

export const monthOf = (ms: number): number => Math.floor(dateKeyOf(ms) / 100);

/** The ECB's historical file of the world, newest first as the ECB writes it. */
export function ecbCsv(world: World): string {
  const header = ['Date', 'USD', ...ECB_QUOTES];
  const lines = [...world.ecb]
    .reverse()
    .map((pub) => [pub.day!, ...header.slice(1).map((code) => pub.eurCells!.get(code) ?? 'N/A')].join(',') + ',');
  return `${header.join(',')},\n${lines.join('\n')}\n`;
}

/** The ECB's daily XML of one publication. */
export function ecbXml(pub: WorldPublication): string {
  const cubes = [...pub.eurCells!].map(([code, rate]) => `<Cube currency='${code}' rate='${rate}'/>`).join('');
  return `<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
<gesmes:subject>Reference rates</gesmes:subject><Cube><Cube time='${pub.day}'>${cubes}</Cube></Cube></gesmes:Envelope>
`;
}

/** open-er-api's latest/USD payload of one publication. */
export function openErApiJson(pub: WorldPublication): string {
  const rates = ['"USD":1', ...[...pub.values].map(([code, rate]) => `"${code}":${rate}`)].join(',');
  return `{"result":"success","base_code":"USD","time_last_update_unix":${pub.asOf / 1000},"rates":{${rates}}}`;
}
