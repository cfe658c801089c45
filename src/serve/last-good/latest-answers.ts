import { createHash } from 'node:crypto';
import type { Db } from '../../warehouse/db.js';
import { DatabaseUnavailableError, isConnectionError } from '../../warehouse/reconnect.js';
import type { GoodAnswer, LastGoodStore } from './store.js';

/** An answer computed from the database: its text, and the publications its rates come from. */
export interface Computed {
  body: string;
  contentType: string;
  /** The newest publication it holds: its Last-Modified (default: the warehouse's newest publication). */
  asOf?: Date;
  /** The oldest publication it holds (default asOf): the first of its rates to age out of force. */
  oldestAsOf?: Date;
}

/** An answer to send: from the database now, or the last good one while the database cannot answer (`stale`). */
export interface Answer extends GoodAnswer {
  stale: boolean;
}

/** What every latest answer depends on, read at most once per VERSION_TTL_MS. */
interface DataVersion {
  key: string;
  /** The newest publication of any source. */
  newestAsOf: Date | null;
  maxRateAgeMs: number;
  /** The next run a scheduler has announced, if one is alive: when a latest answer may change. */
  nextRunAt: Date | null;
}

const VERSION_TTL_MS = 1000;
/** Answers computed and kept per data version, at most; the oldest goes first. */
const MAX_COMPUTED = 1000;

/** A strong ETag from the text alone: two instances over the same data give the same one. */
export const etagOf = (body: string) => `"${createHash('sha256').update(body).digest('base64url').slice(0, 32)}"`;

/** The database failed to answer (down, unreachable, or slower than the limit): the last good answer may stand in. */
function databaseFailed(error: unknown): boolean {
  return error instanceof DatabaseUnavailableError || error instanceof SlowDatabase || isConnectionError(error);
}

class SlowDatabase extends Error {
  constructor(ms: number) {
    super(`the database did not answer within ${ms} ms`);
    this.name = 'SlowDatabase';
  }
}

/**
 * The answers that change only with a new publication (every family's latest, its currency list, /api/v1/latest,
 * /api/v1/convert without `at`): computed once per data version and kept; each good one also kept in the last-good
 * store. While the database cannot answer — down, unreachable, or slower than `waitMs` — the last good answer is
 * given instead, as long as every rate in it is still in force (its oldest publication at most the warehouse's
 * maximum rate age old); after that, or with none kept, the database's failure stands (a 503).
 */
export class LatestAnswers {
  #version: { at: number; value: Promise<DataVersion> } | null = null;
  readonly #computed = new Map<string, { version: string; answer: Promise<GoodAnswer> }>();

  constructor(
    private readonly db: Db,
    readonly store: LastGoodStore,
    private readonly waitMs: number,
  ) {}

  /** The next run announced by a scheduler of the warehouse, as last read (null: none, or not known). */
  nextRunAt: Date | null = null;

  async answer(key: string, compute: () => Promise<Computed>): Promise<Answer> {
    const fresh = this.#fresh(key, compute);
    let timer: NodeJS.Timeout | undefined;
    const slow = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new SlowDatabase(this.waitMs)), this.waitMs);
    });
    try {
      return { ...(await Promise.race([fresh, slow])), stale: false };
    } catch (error) {
      if (!databaseFailed(error)) throw error;
      const kept = await this.store.get(key);
      if (kept && Date.parse(kept.inForceUntil) > Date.now()) return { ...kept, stale: true };
      // Slower than the limit with nothing to stand in: wait for the database after all.
      if (error instanceof SlowDatabase) return { ...(await fresh), stale: false };
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The data version every kept answer is computed for: what an answer streamed rather than kept (a long range) is tagged with. */
  async dataVersion(): Promise<string> {
    return (await this.#currentVersion()).key;
  }

  #fresh(key: string, compute: () => Promise<Computed>): Promise<GoodAnswer> {
    return this.#currentVersion().then((version) => {
      const kept = this.#computed.get(key);
      if (kept?.version === version.key) return kept.answer;
      const answer = compute().then((computed) => this.#keep(this.store.keyOf(key), computed, version));
      this.#computed.delete(key);
      this.#computed.set(key, { version: version.key, answer });
      if (this.#computed.size > MAX_COMPUTED) this.#computed.delete(this.#computed.keys().next().value!);
      // A failure (an error answer, the database down) is not kept: the next request computes again.
      answer.catch(() => {
        if (this.#computed.get(key)?.answer === answer) this.#computed.delete(key);
      });
      return answer;
    });
  }

  async #keep(key: string, computed: Computed, version: DataVersion): Promise<GoodAnswer> {
    const asOf = computed.asOf ?? version.newestAsOf ?? new Date();
    const oldest = computed.oldestAsOf ?? asOf;
    const answer: GoodAnswer = {
      key,
      contentType: computed.contentType,
      body: computed.body,
      etag: etagOf(computed.body),
      asOf: asOf.toISOString(),
      inForceUntil: new Date(oldest.getTime() + version.maxRateAgeMs).toISOString(),
      storedAt: new Date().toISOString(),
    };
    await this.store.put(answer);
    return answer;
  }

  /**
   * The data version: the history's version, the newest publication, and the hour (a rate may age out of force when it
   * turns); with the maximum rate age and the next run a live scheduler announced.
   */
  #currentVersion(): Promise<DataVersion> {
    const now = Date.now();
    if (this.#version && now - this.#version.at < VERSION_TTL_MS) return this.#version.value;
    const value = this.db
      .query<{ v: string; newest: Date | null; max_age_ms: string; next_run_at: Date | null }>(
        `select concat_ws(':', (select version from history_version), newest, to_char(now() at time zone 'UTC', 'YYYYMMDDHH24'), fx_max_rate_age()) as v,
                newest,
                (extract(epoch from fx_max_rate_age()) * 1000)::bigint::text as max_age_ms,
                (select min(i.next_run_at) from scheduler_instances i
                  where i.last_seen_at > now() - interval '5 minutes' and i.next_run_at > now()) as next_run_at
           from (select max(p.as_of) as newest from dim_source s
                  cross join lateral (select x.as_of from source_publications x where x.source_id = s.source_id
                                       order by x.base_currency_id desc, x.as_of desc limit 1) p) n`,
      )
      .then(([row]) => {
        this.nextRunAt = row!.next_run_at;
        return { key: row!.v, newestAsOf: row!.newest, maxRateAgeMs: Number(row!.max_age_ms), nextRunAt: row!.next_run_at };
      });
    this.#version = { at: now, value };
    value.catch(() => {
      if (this.#version?.value === value) this.#version = null;
    });
    return value;
  }
}
