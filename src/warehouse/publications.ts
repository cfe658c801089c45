import type { Db } from './db.js';

/** One payload as-of of a source, and the pairs it carried (quote currency ids against the base). */
export interface Publication {
  asOf: Date;
  quoteIds: number[];
}

/** The publications of a source on either side of an instant, and whether one is at that very instant. */
export interface PublicationsAround {
  previous: Publication | null;
  next: Publication | null;
  exists: boolean;
}

/** A range of UTC days ('YYYY-MM-DD', inclusive) of one source whose read models a writer must rebuild. */
export interface TouchedDays {
  sourceId: number;
  baseId: number;
  from: string;
  to: string;
}

export async function publicationsAround(db: Db, sourceId: number, baseId: number, asOf: Date): Promise<PublicationsAround> {
  const [row] = await db.query<{
    previous_at: Date | null;
    previous_ids: number[] | null;
    next_at: Date | null;
    next_ids: number[] | null;
    present: boolean;
  }>(
    `select p.as_of as previous_at, p.quote_ids as previous_ids, n.as_of as next_at, n.quote_ids as next_ids,
            exists (select 1 from source_publications where source_id = $1 and base_currency_id = $2 and as_of = $3) as present
       from (select 1) one
       left join lateral (select as_of, quote_ids from source_publications
                           where source_id = $1 and base_currency_id = $2 and as_of < $3 order by as_of desc limit 1) p on true
       left join lateral (select as_of, quote_ids from source_publications
                           where source_id = $1 and base_currency_id = $2 and as_of > $3 order by as_of limit 1) n on true`,
    [sourceId, baseId, asOf],
  );
  return {
    previous: row?.previous_at ? { asOf: row.previous_at, quoteIds: row.previous_ids ?? [] } : null,
    next: row?.next_at ? { asOf: row.next_at, quoteIds: row.next_ids ?? [] } : null,
    exists: row?.present ?? false,
  };
}

/**
 * Whether the source has no publication from the instant `around` was read at through `last` (none at it, the next one
 * later than last): then fact_rates_history holds no row of it there either, every row being a publication's.
 */
export function noPublicationThrough(around: PublicationsAround, last: Date): boolean {
  return !around.exists && (!around.next || around.next.asOf > last);
}

/** Records publications (an as-of already recorded keeps what it was first recorded with). */
export async function insertPublications(db: Db, sourceId: number, baseId: number, publications: Publication[]): Promise<void> {
  if (publications.length === 0) return;
  await db.query(
    `insert into source_publications (source_id, base_currency_id, as_of, quote_ids)
     select $1, $2, t.as_of, t.ids::smallint[]
       from unnest($3::timestamptz[], $4::text[]) as t(as_of, ids)
     on conflict do nothing`,
    [sourceId, baseId, publications.map((p) => p.asOf), publications.map((p) => `{${[...p.quoteIds].sort((a, b) => a - b).join(',')}}`)],
  );
}

/** The maximum age of a rate in force (fxpipe_settings), in ms. */
export async function maxRateAgeMs(db: Db): Promise<number> {
  const [row] = await db.query<{ ms: string }>(`select (extract(epoch from fx_max_rate_age()) * 1000)::bigint::text as ms`);
  return Number(row!.ms);
}

/**
 * Sets the maximum age of a rate in force (`fxpipe db settings`, or `db init` creating the warehouse: settings.ts),
 * rebuilding the read models when it changed; returns whether it did.
 */
export async function setMaxRateAge(db: Db, ms: number): Promise<boolean> {
  // justify_hours: 1d reads '1 day' (in fxpipe_settings and P0002's hint), not '24:00:00'.
  const rows = await db.query(
    `update fxpipe_settings set max_rate_age = justify_hours(make_interval(secs => $1::double precision / 1000)), updated_at = now()
      where max_rate_age <> make_interval(secs => $1::double precision / 1000)
     returning 1`,
    [ms],
  );
  // Which days a rate is in force on, and until when each current row is, follow in the same transaction: the
  // warehouse's own trigger on the setting (migration 0023) rebuilds them, whoever changes it.
  return rows.length > 0;
}

/** Rebuilds rates_daily and rates_monthly of one source over the days touched; returns the daily rows written. */
export async function rebuildDays(db: Db, touched: TouchedDays): Promise<number> {
  const [row] = await db.query<{ rows: number }>('select fx_rebuild_days($1::smallint, $2::smallint, $3::date, $4::date) as rows', [
    touched.sourceId,
    touched.baseId,
    touched.from,
    touched.to,
  ]);
  return row?.rows ?? 0;
}

/** The UTC day of an instant. */
export function utcDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

/**
 * The days a publication at asOf, between previous and next, changes the read models of: from the day after the
 * previous publication's (the days it carried the rate into, or did not yet as the latest) to the next one's. The
 * previous publication's own day changes only when asOf is on it: on that day its stretch ends at the day's end,
 * whichever publication follows it.
 */
export function daysAround(
  sourceId: number,
  baseId: number,
  asOf: Date,
  around: Pick<PublicationsAround, 'previous' | 'next'>,
): TouchedDays {
  const day = utcDay(asOf);
  const previousDay = around.previous ? utcDay(around.previous.asOf) : day;
  const from = previousDay < day ? utcDay(new Date(Date.parse(`${previousDay}T00:00:00Z`) + 86_400_000)) : previousDay;
  return { sourceId, baseId, from, to: utcDay(around.next?.asOf ?? asOf) };
}

/** Merges touched ranges of the same source into one per (source, base). */
export function mergeTouched(ranges: TouchedDays[]): TouchedDays[] {
  const merged = new Map<string, TouchedDays>();
  for (const range of ranges) {
    const key = `${range.sourceId}/${range.baseId}`;
    const seen = merged.get(key);
    merged.set(
      key,
      seen ? { ...seen, from: seen.from < range.from ? seen.from : range.from, to: seen.to > range.to ? seen.to : range.to } : range,
    );
  }
  return [...merged.values()];
}
