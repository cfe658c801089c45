import type { Db } from '../../warehouse/db.js';

/** Answers kept at most; the oldest goes first. */
const MAX_ENTRIES = 1000;

/**
 * The backup endpoints' answers for the latest rates, kept per data version: they change only when a run writes the
 * history or records a publication, or when the hour turns (a rate may have aged out of force). The version is read
 * at most once per `ttlMs`, so an answer may lag a run's commit by that much.
 */
export class LatestCache {
  private version: { at: number; value: Promise<string> } | null = null;
  private readonly entries = new Map<string, { version: string; text: Promise<string> }>();

  constructor(
    private readonly db: Db,
    private readonly ttlMs = 1000,
  ) {}

  async get(key: string, compute: () => Promise<string>): Promise<string> {
    const version = await this.currentVersion();
    const cached = this.entries.get(key);
    if (cached?.version === version) return cached.text;
    const text = compute();
    this.entries.delete(key);
    this.entries.set(key, { version, text });
    if (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    // A failure (an error answer, the database down) is not kept: the next request computes again.
    text.catch(() => {
      if (this.entries.get(key)?.text === text) this.entries.delete(key);
    });
    return text;
  }

  private currentVersion(): Promise<string> {
    const now = Date.now();
    if (this.version && now - this.version.at < this.ttlMs) return this.version.value;
    const value = this.db
      .query<{ v: string }>(
        `select concat_ws(':', (select version from history_version),
                          (select max(p.as_of) from dim_source s
                            cross join lateral (select x.as_of from source_publications x where x.source_id = s.source_id
                                                 order by x.base_currency_id desc, x.as_of desc limit 1) p),
                          to_char(now() at time zone 'UTC', 'YYYYMMDDHH24')) as v`)
      .then((rows) => rows[0]!.v);
    this.version = { at: now, value };
    value.catch(() => {
      if (this.version?.value === value) this.version = null;
    });
    return value;
  }
}
