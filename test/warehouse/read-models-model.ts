import {
  applyChangeRule,
  dailyRows,
  historyKey,
  inForceAt,
  monthlyRows,
  type OracleDaily,
  type OracleMonthly,
  type OraclePublication,
} from './read-models-oracle.js';
import { MAX_RATE_AGE_MS, monthOf, SOURCES, type SourceKey, type WorldPublication } from './read-models-world.js';

/**
 * What the test knows it did to the warehouse: every publication loaded (per source, with the history rows the change
 * rule stored for it, in load order), the payloads only stored in bronze, and the archived months with the rows their
 * days had when they were archived (days of archived months are not recomputed).
 */
export class WarehouseModel {
  readonly pubs: Record<SourceKey, Map<number, OraclePublication>> = { ecb: new Map(), 'open-er-api': new Map() };
  readonly history: Record<SourceKey, Set<string>> = { ecb: new Set(), 'open-er-api': new Set() };
  pending: WorldPublication[] = [];
  /** Every payload stored in bronze by a run (reprocess replays them all). */
  readonly bronze: WorldPublication[] = [];
  readonly archived = new Set<number>();
  readonly frozen: Record<SourceKey, Map<string, OracleDaily>> = { ecb: new Map(), 'open-er-api': new Map() };

  isLoaded(pub: WorldPublication): boolean {
    return this.pubs[pub.source].has(pub.asOf);
  }

  load(pub: WorldPublication): void {
    if (this.isLoaded(pub)) return;
    const loaded: OraclePublication = { asOf: pub.asOf, values: pub.values };
    this.pubs[pub.source].set(pub.asOf, loaded);
    applyChangeRule(this.pubs[pub.source].values(), loaded, MAX_RATE_AGE_MS, this.history[pub.source]);
  }

  /** The next publication of the source loaded after an instant. */
  nextLoaded(source: SourceKey, asOf: number): number | null {
    let next: number | null = null;
    for (const at of this.pubs[source].keys()) if (at > asOf && (next === null || at < next)) next = at;
    return next;
  }

  /**
   * Loads only where docs/tiering.md allows them ("restore a month before loading into it again"): the publication's
   * month is hot, and so is the month of the publication after it, whose values the load decides again. And none whose
   * change rule would read a history row that is in the archive only (a known gap: the loader then misses the last
   * stored value, stores a repeat as 'initial' or, deciding the next publication again, misses its value).
   */
  allowed(pub: WorldPublication): boolean {
    const next = this.nextLoaded(pub.source, pub.asOf);
    return !this.archived.has(monthOf(pub.asOf)) && (next === null || !this.archived.has(monthOf(next))) && !this.readsArchivedHistory(pub);
  }

  /** The pair's last history row before t, as its as-of. */
  lastRowBefore(source: SourceKey, quote: string, t: number): number | null {
    let last: number | null = null;
    for (const key of this.history[source]) {
      const [q, at] = key.split('@');
      if (q === quote && Number(at) < t && (last === null || Number(at) > last)) last = Number(at);
    }
    return last;
  }

  rowArchived(source: SourceKey, quote: string, before: number): boolean {
    const last = this.lastRowBefore(source, quote, before);
    return last !== null && this.archived.has(monthOf(last));
  }

  /** Whether loading pub looks up a last stored value in an archived month: its pairs', or the next publication's. */
  readsArchivedHistory(pub: WorldPublication): boolean {
    if ([...pub.values.keys()].some((quote) => this.rowArchived(pub.source, quote, pub.asOf))) return true;
    const next = this.nextLoaded(pub.source, pub.asOf);
    const carried = next === null ? [] : [...this.pubs[pub.source].get(next)!.values.keys()];
    return carried.some((quote) => !this.history[pub.source].has(historyKey(quote, next!)) && this.rowArchived(pub.source, quote, next!));
  }

  expectedDaily(source: SourceKey): Map<string, OracleDaily> {
    const expected = new Map<string, OracleDaily>();
    for (const [key, row] of dailyRows(this.pubs[source].values(), MAX_RATE_AGE_MS, this.history[source])) {
      if (!this.archived.has(Math.floor(row.dateKey / 100))) expected.set(key, row);
    }
    for (const [key, row] of this.frozen[source]) expected.set(key, row);
    return expected;
  }

  expectedMonthly(source: SourceKey): Map<string, OracleMonthly> {
    return monthlyRows(this.expectedDaily(source).values());
  }

  archive(months: number[]): void {
    for (const month of months) {
      if (this.archived.has(month)) continue;
      for (const { name } of SOURCES) {
        for (const [key, row] of this.expectedDaily(name)) if (Math.floor(row.dateKey / 100) === month) this.frozen[name].set(key, row);
      }
      this.archived.add(month);
    }
  }

  restore(month: number): void {
    this.archived.delete(month);
    for (const { name } of SOURCES) {
      for (const [key, row] of this.frozen[name]) if (Math.floor(row.dateKey / 100) === month) this.frozen[name].delete(key);
    }
  }

  /** USD→quote from one source in force at t, or null. */
  usdRateFrom(source: SourceKey, quote: string, at: number): string | null {
    return inForceAt(this.pubs[source].values(), quote, at, MAX_RATE_AGE_MS)?.value ?? null;
  }

  /** api.usd_rate's answer by the definitions: the best ranked source with the rate in force at t. */
  usdRate(quote: string, at: number): { rate: string; asOf: number; source: SourceKey } | null {
    for (const { name } of SOURCES) {
      const r = inForceAt(this.pubs[name].values(), quote, at, MAX_RATE_AGE_MS);
      if (r) return { rate: r.value, asOf: r.asOf, source: name };
    }
    return null;
  }

  /** Whether any source's publication in force at t lies in an archived month (fx_rate_in_force answers those from the daily rows only). */
  answersFromArchive(at: number): boolean {
    return SOURCES.some(({ name }) => {
      let latest: number | null = null;
      for (const asOf of this.pubs[name].keys()) if (asOf <= at && (latest === null || asOf > latest)) latest = asOf;
      return latest !== null && this.archived.has(monthOf(latest));
    });
  }
}
