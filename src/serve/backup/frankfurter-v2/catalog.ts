import cc from 'currency-codes';
import { dayOf, addDays } from '../../../calendar/days.js';
import { sources } from '../../../sources/registry.js';
import { currencyInfo } from '../../../warehouse/currencies.js';
import type { Db } from '../../../warehouse/db.js';
import { providerKey } from './records.js';

/**
 * v2's `/providers`, `/currencies` and `/currency/{code}` (lib/versions/v2.rb, lib/currency.rb), from what fxpipe has
 * stored: each source is a provider, and a currency's dates are the first and last days any source has a rate for it.
 */
interface Coverage {
  source: string;
  code: string;
  first: string;
  last: string;
}

/** Each source's stored days per currency (USD, the stored base, spans all of the source's days). */
async function coverage(db: Db): Promise<Coverage[]> {
  const rows = await db.query<{ source: string; code: string; first: number; last: number }>(
    `with daily as (
       select d.source_id, c.currency_code as code, min(d.date_key) as first, max(d.date_key) as last
         from rates_daily d join dim_currency c on c.currency_id = d.quote_currency_id
        where d.base_currency_id = (select currency_id from dim_currency where currency_code = 'USD')
        group by d.source_id, c.currency_code
     )
     select s.source_name as source, x.code, x.first, x.last
       from (select * from daily
             union all
             select source_id, 'USD', min(first), max(last) from daily group by source_id) x
       join dim_source s on s.source_id = x.source_id
      order by s.source_name, x.code`,
  );
  const day = (key: number) => `${String(key).slice(0, 4)}-${String(key).slice(4, 6)}-${String(key).slice(6, 8)}`;
  return rows.map((r) => ({ source: r.source, code: r.code, first: day(r.first), last: day(r.last) }));
}

/** What fxpipe knows of each source beyond its data: its provider's name. */
const PROVIDER_NAMES: Record<string, string> = {
  ecb: 'European Central Bank',
  'open-er-api': 'ExchangeRate-API (open access)',
  'exchangerate-api': 'ExchangeRate-API',
  frankfurter: 'Frankfurter',
};

const pivotOf = (source: string): string | null =>
  (sources as Record<string, { requestedBase: string } | undefined>)[source]?.requestedBase ?? null;

/**
 * Providers with stored rates, by key, in Frankfurter's fields: those fxpipe does not keep (country, rate type, links,
 * publishing cadence) are null, as Frankfurter writes them for a provider without them.
 */
export async function providerList(db: Db): Promise<Record<string, unknown>[]> {
  const bySource = new Map<string, Coverage[]>();
  for (const c of await coverage(db)) bySource.set(c.source, [...(bySource.get(c.source) ?? []), c]);
  return [...bySource]
    .map(([source, rows]) => ({
      key: providerKey(source),
      name: PROVIDER_NAMES[source] ?? source,
      country_code: null,
      rate_type: null,
      pivot_currency: pivotOf(source),
      data_url: null,
      terms_url: null,
      start_date: rows.map((r) => r.first).sort()[0]!,
      end_date: rows
        .map((r) => r.last)
        .sort()
        .at(-1)!,
      publish_cadence: null,
      publishes_missed: null,
      currencies: rows.map((r) => r.code).sort(),
    }))
    .sort((a, b) => (a.key < b.key ? -1 : 1));
}

interface CurrencyRow {
  iso_code: string;
  iso_numeric: string | null;
  name: string;
  symbol: string | null;
  start_date: string;
  end_date: string;
}

function currencyRows(rows: Coverage[]): Map<string, CurrencyRow & { providers: string[] }> {
  const byCode = new Map<string, CurrencyRow & { providers: string[] }>();
  for (const row of rows) {
    const known = byCode.get(row.code);
    if (known) {
      known.start_date = [known.start_date, row.first].sort()[0]!;
      known.end_date = [known.end_date, row.last].sort().at(-1)!;
      known.providers.push(providerKey(row.source));
      continue;
    }
    const info = currencyInfo(row.code);
    byCode.set(row.code, {
      iso_code: row.code,
      iso_numeric: cc.code(row.code)?.number ?? null,
      name: info.name,
      symbol: info.symbol,
      start_date: row.first,
      end_date: row.last,
      providers: [providerKey(row.source)],
    });
  }
  return byCode;
}

/**
 * `/currencies`: those with a rate in the last 30 days (Currency.active), every one with `scope=all`, or those the
 * named providers cover; by code.
 */
export async function currencyList(db: Db, scope: string | undefined, providers: string | undefined): Promise<CurrencyRow[]> {
  let rows = await coverage(db);
  const keys = providers?.toUpperCase().split(',');
  if (keys) rows = rows.filter((r) => keys.includes(providerKey(r.source)));
  const byCode = currencyRows(rows);
  const cutoff = addDays(dayOf(new Date()), -30);
  return [...byCode.values()]
    .filter((c) => keys !== undefined || scope === 'all' || c.end_date >= cutoff)
    .sort((a, b) => (a.iso_code < b.iso_code ? -1 : 1))
    .map(({ providers: _, ...row }) => row);
}

/** `/currency/{code}`: the currency with the providers that cover it, or null. */
export async function currencyDetail(db: Db, code: string): Promise<Record<string, unknown> | null> {
  const found = currencyRows(await coverage(db)).get(code.toUpperCase());
  if (!found) return null;
  return { ...found, providers: [...found.providers].sort() };
}
