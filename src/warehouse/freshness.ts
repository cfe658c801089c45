import { addDays, dayOf } from '../calendar/days.js';
import { ecbBusinessDays, ecbLatestPublishedDay } from '../calendar/ecb.js';
import { SOURCE_NAMES, type SourceName } from '../sources/types.js';
import { DEFAULT_AS_OF_SKEW_MS } from '../transform/as-of.js';
import type { Db } from './db.js';

/**
 * How fresh each source's newest rates in fact_rates_current are, against the cadence the source publishes on.
 *
 * - `daily` (open-er-api, exchangerate-api: one update a day, just after 00:00 UTC): by the age of the newest
 *   as-of time: `ok` up to 26 h, `late` up to 50 h, `stale` beyond.
 * - `ecb_business_day` (frankfurter, ecb: the ECB fix around 16:00 Frankfurt time on TARGET business days, none on
 *   weekends and TARGET holidays): the expected day is the latest business day whose fix is out by now, counted from
 *   an hour after 16:00 Frankfurt time. `ok` when the newest as-of is that day (or later), `late` one business day
 *   behind, `stale` two or more. Friday's rates are still `ok` all weekend and on Monday until 17:00 Frankfurt time.
 * - Either cadence: `future` when the newest as-of is later than now plus the allowed clock skew (never `ok`).
 */
export type Cadence = 'daily' | 'ecb_business_day';
/** future: the newest as-of lies ahead of now (beyond the clock skew allowed): a wrong as-of, never `ok`. */
export type FreshnessState = 'ok' | 'late' | 'stale' | 'future' | 'no_data';

export const SOURCE_CADENCE: Record<SourceName, Cadence> = {
  'open-er-api': 'daily',
  'exchangerate-api': 'daily',
  frankfurter: 'ecb_business_day',
  ecb: 'ecb_business_day',
};

const HOUR_MS = 3_600_000;
const DAILY_OK_HOURS = 26;
const DAILY_LATE_HOURS = 50;
/** The fix is published "around" 16:00: a day counts as due an hour later. */
const ECB_GRACE_MS = HOUR_MS;

export interface SourceFreshness {
  source: SourceName;
  /** In the configured sources (FXPIPE_SOURCES), or only found in the warehouse. */
  configured: boolean;
  cadence: Cadence;
  /** The newest provider as-of time stored for the source. */
  asOf: string | null;
  ageHours: number | null;
  /** ecb_business_day only: the business day whose rates should be out by now (YYYY-MM-DD). */
  expectedDay: string | null;
  state: FreshnessState;
}

/** The freshness rule for one source's newest as-of time (null: nothing stored). */
export function freshnessOf(source: SourceName, asOf: Date | null, now: Date): Omit<SourceFreshness, 'source' | 'configured'> {
  const cadence = SOURCE_CADENCE[source];
  const expectedDay = cadence === 'ecb_business_day' ? ecbLatestPublishedDay(new Date(now.getTime() - ECB_GRACE_MS)) : null;
  if (!asOf) return { cadence, asOf: null, ageHours: null, expectedDay, state: 'no_data' };
  const ageHours = Math.round(((now.getTime() - asOf.getTime()) / HOUR_MS) * 10) / 10;
  let state: FreshnessState;
  if (asOf.getTime() > now.getTime() + DEFAULT_AS_OF_SKEW_MS) {
    state = 'future';
  } else if (expectedDay === null) {
    state = ageHours <= DAILY_OK_HOURS ? 'ok' : ageHours <= DAILY_LATE_HOURS ? 'late' : 'stale';
  } else {
    const behind = ecbBusinessDays(addDays(dayOf(asOf), 1), expectedDay).length;
    state = behind === 0 ? 'ok' : behind === 1 ? 'late' : 'stale';
  }
  return { cadence, asOf: asOf.toISOString(), ageHours, expectedDay, state };
}

/** Freshness of the configured sources (in their order), then of every other source with stored rates. */
export async function sourceFreshness(db: Db, configured: readonly SourceName[], now: Date): Promise<SourceFreshness[]> {
  const rows = await db.query<{ source_name: string; as_of: Date }>(
    `select s.source_name, max(f.rate_timestamp) as as_of
       from fact_rates_current f join dim_source s using (source_id)
      group by s.source_name
      order by s.source_name`,
  );
  const newest = new Map(rows.map((row) => [row.source_name, row.as_of]));
  const others = SOURCE_NAMES.filter((name) => newest.has(name) && !configured.includes(name)).sort();
  return [...configured, ...others].map((source) => ({
    source,
    configured: configured.includes(source),
    ...freshnessOf(source, newest.get(source) ?? null, now),
  }));
}
