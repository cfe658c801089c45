import { RateDecimal } from '../../transform/decimal.js';
import { PublishedValues } from '../../transform/published-digits.js';
import type { Db } from '../../warehouse/db.js';
import { sources } from '../../sources/registry.js';

/**
 * What a source published, as the providers' own APIs answer it: one day's rates (the values in force at the end of a
 * publishing day, USD-based, exactly as stored), for the backup endpoints of `fxpipe serve` (docs/backup.md).
 */
export interface PublishedDay {
  source: string;
  /** The publishing day (UTC), YYYY-MM-DD. */
  date: string;
  /** The day's last publication. */
  asOf: Date;
  /** USD→code as stored, USD itself included (1). */
  usd: Map<string, string>;
  /** The base the source publishes in (the ECB: EUR). */
  base: string;
  /** base→code exactly as the source published it (recovered from the stored USD rates), base itself 1. */
  published: PublishedValues;
}

/** A day of a source's rates: the USD rates as stored, and the same rates in the source's own base as it published them. */
function publishedDay(source: string, date: string, asOf: Date, usd: Map<string, string>): PublishedDay {
  const base = publishedBase(source);
  return { source, date, asOf, usd, base, published: new PublishedValues(usd, base) };
}

/**
 * base→quote on the day: exact, from the values the source published (published: true when the source published this
 * very rate, i.e. base is its own), or from the stored USD rates for a code whose published digits are not known.
 */
export function exactRate(day: PublishedDay, base: string, quote: string): { rate: RateDecimal; published: boolean } | null {
  const [toBase, toQuote] = [day.published.get(base), day.published.get(quote)];
  if (toBase !== undefined && toQuote !== undefined) {
    return { rate: base === day.base ? new RateDecimal(toQuote) : new RateDecimal(toQuote).div(toBase), published: base === day.base };
  }
  const [usdToBase, usdToQuote] = [day.usd.get(base), day.usd.get(quote)];
  if (usdToBase === undefined || usdToQuote === undefined) return null;
  return { rate: new RateDecimal(usdToQuote).div(usdToBase), published: false };
}

/** Which source answers, and up to when: `source` null for the preferred (primary, then fallback, then references). */
export interface DayQuery {
  /** One source, the preferred among several (Frankfurter v2's `providers`), or null for the preferred of all. */
  source: SourceChoice;
  /** The day asked for (YYYY-MM-DD); null: the latest publication in force now. */
  day: string | null;
}

/**
 * The source's last publication up to the end of `day` (or the latest in force now) and the rates it carried, at
 * that publishing day's close. A day without a publication answers the last one before it, with that day's date, as
 * the providers do; none when no source (or not the one asked for) published within the maximum rate age before it.
 */
export async function publishedOn(db: Db, query: DayQuery): Promise<PublishedDay | null> {
  // The instant asked about: the last moment of the day, or now. What is in force then is the warehouse's one rule.
  const [publication] = await db.query<{ source_id: number; source: string; as_of: Date; date_key: number; quote_ids: number[] }>(
    `select p.source_id, p.source_name as source, p.as_of, fx_date_key(p.as_of) as date_key, p.quote_ids
       from fx_publications_at(coalesce(($2::date + 1)::timestamptz - interval '1 microsecond', now())) p
      where p.in_force and ($1::text[] is null or p.source_name = any ($1::text[]))
      order by p.source_order, p.source_name
      limit 1`,
    [names(query.source), query.day],
  );
  if (!publication) return null;
  const days = await closes(db, publication.source_id, [{ dateKey: publication.date_key, quoteIds: publication.quote_ids }]);
  return publishedDay(
    publication.source,
    keyToDay(publication.date_key),
    publication.as_of,
    days.get(publication.date_key) ?? new Map<string, string>(),
  );
}

/**
 * Every publishing day of one source from `from` to `to` (inclusive), each with its rates at the day's close; the
 * source is the one asked for or the preferred one among those that published in the range.
 */
export async function publishedBetween(
  db: Db,
  source: SourceChoice,
  from: string,
  to: string,
): Promise<{ source: string; days: PublishedDay[] } | null> {
  const rows = await db.query<{ source_id: number; source: string; as_of: Date; date_key: number; quote_ids: number[] }>(
    `with chosen as (${CHOSEN_BETWEEN})
     select distinct on (fx_date_key(p.as_of)) c.source_id, c.source_name as source, p.as_of, fx_date_key(p.as_of) as date_key, p.quote_ids
       from chosen c
       join source_publications p on p.source_id = c.source_id
        and p.base_currency_id = (select currency_id from dim_currency where currency_code = 'USD')
        and p.as_of >= $2::date and p.as_of < $3::date + 1
      order by fx_date_key(p.as_of), p.as_of desc`,
    [names(source), from, to],
  );
  if (rows.length === 0) return null;
  const values = await closes(
    db,
    rows[0]!.source_id,
    rows.map((r) => ({ dateKey: r.date_key, quoteIds: r.quote_ids })),
  );
  return {
    source: rows[0]!.source,
    days: rows.map((r) => publishedDay(r.source, keyToDay(r.date_key), r.as_of, values.get(r.date_key) ?? new Map<string, string>())),
  };
}

/** The source publishedBetween answers from, without its days: so a long range can be read in parts from one source. */
export async function preferredSourceBetween(db: Db, source: SourceChoice, from: string, to: string): Promise<string | null> {
  const [row] = await db.query<{ source_name: string }>(CHOSEN_BETWEEN, [names(source), from, to]);
  return row?.source_name ?? null;
}

/** One source, several (the preferred of them answers), or null: the preferred of all. */
export type SourceChoice = string | readonly string[] | null;
const names = (source: SourceChoice): string[] | null => (source === null ? null : typeof source === 'string' ? [source] : [...source]);

/** The preferred source ($1: the names allowed, or null) that published from $2 to $3 (days, inclusive). */
const CHOSEN_BETWEEN = `
  select s.source_id, s.source_name
    from dim_source s
   where ($1::text[] is null or s.source_name = any ($1::text[]))
     and exists (select 1 from source_publications x where x.source_id = s.source_id
                    and x.as_of >= $2::date and x.as_of < $3::date + 1)
   order by api.source_rank(s.rank), s.source_name
   limit 1`;

/** USD→code at each day's close for the codes its last publication carried (USD itself: 1), by date key. */
async function closes(
  db: Db,
  sourceId: number,
  days: { dateKey: number; quoteIds: number[] }[],
): Promise<Map<number, Map<string, string>>> {
  const rows = await db.query<{ date_key: number; code: string; close: string }>(
    `select d.date_key, q.currency_code as code, d.close::text as close
       from unnest($2::integer[], $3::text[]) as w(date_key, quote_ids)
       join rates_daily d on d.source_id = $1 and d.date_key = w.date_key
        and d.base_currency_id = (select currency_id from dim_currency where currency_code = 'USD')
        and d.quote_currency_id = any (w.quote_ids::smallint[])
       join dim_currency q on q.currency_id = d.quote_currency_id
      order by d.date_key, q.currency_code`,
    [sourceId, days.map((d) => d.dateKey), days.map((d) => `{${d.quoteIds.join(',')}}`)],
  );
  const byDay = new Map<number, Map<string, string>>(days.map((d) => [d.dateKey, new Map([['USD', '1']])]));
  for (const row of rows) byDay.get(row.date_key)?.set(row.code, row.close);
  return byDay;
}

const keyToDay = (key: number) => `${String(key).slice(0, 4)}-${String(key).slice(4, 6)}-${String(key).slice(6, 8)}`;

/** The currencies a source has in force now (and USD), with their names: each family's currency list. */
export async function currenciesInForce(db: Db): Promise<{ code: string; name: string }[]> {
  const rows = await db.query<{ code: string; name: string | null }>(
    `select c.code, c.name from api.currencies c
      where c.code = 'USD' or exists (select 1 from api.latest_rates l where l.base = 'USD' and l.quote = c.code and l.status = 'current')
      order by c.code`,
  );
  return rows.map((r) => ({ code: r.code, name: r.name ?? r.code }));
}

/** The base a source publishes in (the ECB: EUR); USD for a source fxpipe does not know. */
const publishedBase = (source: string): string =>
  (sources as Record<string, { requestedBase: string } | undefined>)[source]?.requestedBase ?? 'USD';
