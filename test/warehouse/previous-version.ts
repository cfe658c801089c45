import type { Db } from '../../src/warehouse/db.js';
import { D, historyKey, type OraclePublication } from './read-models-oracle.js';
import type { WorldPublication } from './read-models-world.js';

/**
 * A warehouse as the previous version (migrations 0001–0011) kept it: history rows only where a value differed from
 * the pair's last stored one (repeats skipped, pauses not recorded), one current row per pair, materialized views.
 */

export interface PreviousRows {
  history: { quote: string; asOf: number; rate: string; previous: string | null }[];
  current: { quote: string; asOf: number; rate: string; previous: string | null; reason: 'initial' | 'moved' | 'unchanged' }[];
}

/** What the previous version stored loading one source's publications in order. */
export function previousRows(pubs: WorldPublication[]): PreviousRows {
  const lastStored = new Map<string, string>();
  const current = new Map<string, PreviousRows['current'][number]>();
  const history: PreviousRows['history'] = [];
  for (const pub of [...pubs].sort((a, b) => a.asOf - b.asOf)) {
    for (const [quote, rate] of pub.values) {
      const stored = lastStored.get(quote) ?? null;
      const moved = stored === null || !new D(stored).eq(new D(rate));
      if (moved) {
        history.push({ quote, asOf: pub.asOf, rate, previous: stored });
        lastStored.set(quote, rate);
      }
      const before = current.get(quote)?.rate ?? null;
      current.set(quote, {
        quote,
        asOf: pub.asOf,
        rate,
        previous: before,
        reason: stored === null ? 'initial' : moved ? 'moved' : 'unchanged',
      });
    }
  }
  return { history, current: [...current.values()] };
}

/**
 * The publications docs/schema.md says migration 0012 derives from such a warehouse: each distinct as-of of the
 * source's history and current rows, carrying every pair from its first history row to its current row's as-of, each
 * with its value then: the pair's last history row at or before it.
 */
export function derivedPublications(rows: PreviousRows): OraclePublication[] {
  const instants = new Set([...rows.history.map((h) => h.asOf), ...rows.current.map((c) => c.asOf)]);
  const spans = rows.current.map((c) => ({
    quote: c.quote,
    from: Math.min(...rows.history.filter((h) => h.quote === c.quote).map((h) => h.asOf)),
    to: c.asOf,
  }));
  return [...instants]
    .sort((a, b) => a - b)
    .map((asOf) => {
      const values = new Map<string, string>();
      for (const span of spans) {
        if (asOf < span.from || asOf > span.to) continue;
        const last = rows.history.filter((h) => h.quote === span.quote && h.asOf <= asOf).sort((a, b) => b.asOf - a.asOf)[0]!;
        values.set(span.quote, last.rate);
      }
      return { asOf, values };
    });
}

export const historyKeys = (rows: PreviousRows): Set<string> => new Set(rows.history.map((h) => historyKey(h.quote, h.asOf)));

/** The source's row as the previous version stored it: its rank was in dim_source.tier (renamed rank by 0020). */
export async function insertPreviousSource(db: Db, name: string, rank: string, endpoint: string): Promise<number> {
  const [row] = await db.query<{ source_id: number }>(
    'insert into dim_source (source_name, tier, endpoint) values ($1, $2, $3) returning source_id',
    [name, rank, endpoint],
  );
  return row!.source_id;
}

/** Writes the rows as the previous version's loader did (dimensions and partitions must exist). */
export async function insertPreviousRows(db: Db, sourceId: number, ids: Map<string, number>, rows: PreviousRows): Promise<void> {
  const usd = ids.get('USD')!;
  const dateKey = (ms: number) => Number(new Date(ms).toISOString().slice(0, 10).replaceAll('-', ''));
  const pct = (previous: string | null, rate: string) =>
    previous === null ? null : new D(rate).minus(previous).div(previous).times(100).toDecimalPlaces(8).toFixed();
  await db.query(
    `insert into fact_rates_history (date_key, base_currency_id, quote_currency_id, source_id, rate_timestamp, rate, previous_rate, change_pct)
     select d, $1, q, $2, t, r::numeric, p::numeric, c::numeric
       from unnest($3::int[], $4::smallint[], $5::timestamptz[], $6::text[], $7::text[], $8::text[]) as x(d, q, t, r, p, c)`,
    [
      usd,
      sourceId,
      rows.history.map((h) => dateKey(h.asOf)),
      rows.history.map((h) => ids.get(h.quote)!),
      rows.history.map((h) => new Date(h.asOf)),
      rows.history.map((h) => h.rate),
      rows.history.map((h) => h.previous),
      rows.history.map((h) => pct(h.previous, h.rate)),
    ],
  );
  await db.query(
    `insert into fact_rates_current (base_currency_id, quote_currency_id, source_id, rate, rate_timestamp, previous_rate, change_pct, change_reason)
     select $1, q, $2, r::numeric, t, p::numeric, c::numeric, reason
       from unnest($3::smallint[], $4::timestamptz[], $5::text[], $6::text[], $7::text[], $8::text[]) as x(q, t, r, p, c, reason)`,
    [
      usd,
      sourceId,
      rows.current.map((c) => ids.get(c.quote)!),
      rows.current.map((c) => new Date(c.asOf)),
      rows.current.map((c) => c.rate),
      rows.current.map((c) => c.previous),
      rows.current.map((c) => pct(c.previous, c.rate)),
      rows.current.map((c) => c.reason),
    ],
  );
}
