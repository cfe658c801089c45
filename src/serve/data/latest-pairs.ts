import { conversionText } from '../../transform/pg-numeric.js';
import type { Db } from '../../warehouse/db.js';
import { etagOf, type Answer, type LatestAnswers } from '../last-good/latest-answers.js';
import type { Conversion } from './convert.js';

/** A pair's legs now: rate_from, rate_to (PostgreSQL's text, every digit of its scale), as_of, from_source, to_source. */
type Legs = [rateFrom: string, rateTo: string, asOf: string | null, fromSource: string, toSource: string];

/** The pairs from one currency in force now, as vw_latest_pairs chooses their legs (keyed 'FROM/TO'), and their oldest publication. */
export interface LatestPairs {
  pairs: Record<string, Legs>;
  oldestAsOf: string | null;
  newestAsOf: string | null;
}

/** `from` is not a currency in force now: nothing to keep, api.convert answers (or refuses) it. */
class NoPairs extends Error {}

/**
 * The legs of every pair from `from` as the warehouse chooses them now (vw_latest_pairs, migration 0023: the choice
 * api.convert makes): one query per currency and data version, from which any conversion from it at the latest rates
 * is computed without asking again.
 */
export async function latestPairs(db: Db, from: string): Promise<LatestPairs> {
  const rows = await db.query<{
    f: string;
    t: string;
    rate_from: string;
    rate_to: string;
    as_of: Date | null;
    from_source: string;
    to_source: string;
  }>(
    `select from_currency as f, to_currency as t, rate_from::text as rate_from, rate_to::text as rate_to, as_of, from_source, to_source
       from vw_latest_pairs where from_currency = $1`,
    [from],
  );
  if (rows.length === 0) throw new NoPairs();
  const pairs: Record<string, Legs> = {};
  let oldest: number | null = null;
  let newest: number | null = null;
  for (const r of rows) {
    pairs[`${r.f}/${r.t}`] = [r.rate_from, r.rate_to, r.as_of?.toISOString() ?? null, r.from_source, r.to_source];
    if (r.as_of) {
      const at = r.as_of.getTime();
      if (oldest === null || at < oldest) oldest = at;
      if (newest === null || at > newest) newest = at;
    }
  }
  return {
    pairs,
    oldestAsOf: oldest === null ? null : new Date(oldest).toISOString(),
    newestAsOf: newest === null ? null : new Date(newest).toISOString(),
  };
}

/**
 * api.convert's answer at the latest rates from the pair's legs, with PostgreSQL's numeric arithmetic (pg-numeric.ts):
 * trim_scale(amount * rate_to / rate_from), trim_scale(rate_to / rate_from), and its sources (none for USD). Null when
 * the pair is not in force now (a leg retired, stale or unknown) or is USD to USD (api.convert dates that one now):
 * api.convert answers or refuses those itself.
 */
export function convertAtLatest(latest: LatestPairs, amount: string, from: string, to: string): Conversion | null {
  if (from === 'USD' && to === 'USD') return null;
  const legs = latest.pairs[`${from}/${to}`];
  if (!legs) return null;
  const [rateFrom, rateTo, asOf, fromSource, toSource] = legs;
  const { amount: given, rate, converted } = conversionText(amount, rateFrom, rateTo);
  return {
    amount: given,
    from,
    to,
    rate,
    converted,
    asOf,
    at: null,
    fromSource: from === 'USD' ? null : fromSource,
    toSource: to === 'USD' ? null : toSource,
    archived: false,
  };
}

/**
 * /api/v1/convert without `at`: the legs of every pair from a currency kept as one of the per-version answers (so a conversion of any amount
 * is answered from them, through a database outage too, while they are in force), parsed once per version; each
 * conversion computed from them. Null when api.convert must answer (convertAtLatest).
 */
export class LatestConversions {
  /** Each currency's pairs, parsed once per kept answer (its ETag). */
  readonly #parsed = new Map<string, { etag: string; latest: LatestPairs }>();

  constructor(
    private readonly db: Db,
    private readonly answers: LatestAnswers,
  ) {}

  async answer(amount: string, from: string, to: string): Promise<Answer | null> {
    let kept: Answer;
    try {
      kept = await this.answers.answer(`api convert latest pairs from ${from}`, async () => {
        const latest = await latestPairs(this.db, from);
        return {
          body: JSON.stringify(latest),
          contentType: 'application/json',
          ...(latest.newestAsOf && latest.oldestAsOf ? { asOf: new Date(latest.newestAsOf), oldestAsOf: new Date(latest.oldestAsOf) } : {}),
        };
      });
    } catch (error) {
      if (error instanceof NoPairs) return null;
      throw error;
    }
    let parsed = this.#parsed.get(from);
    if (parsed?.etag !== kept.etag) {
      parsed = { etag: kept.etag, latest: JSON.parse(kept.body) as LatestPairs };
      this.#parsed.set(from, parsed);
    }
    const { latest } = parsed;
    const converted = convertAtLatest(latest, amount, from, to);
    if (!converted || !latest.oldestAsOf) return null;
    const body = JSON.stringify(converted);
    const asOf = converted.asOf ?? kept.asOf;
    // In force until its own oldest leg ages out: the kept answer's limit is its oldest pair's.
    const maxRateAgeMs = Date.parse(kept.inForceUntil) - Date.parse(latest.oldestAsOf);
    return {
      ...kept,
      body,
      etag: etagOf(body),
      asOf,
      inForceUntil: new Date(Date.parse(asOf) + maxRateAgeMs).toISOString(),
    };
  }
}
