import type { SourceName } from '../sources/types.js';
import type { Db } from '../warehouse/db.js';
import { sourceFreshness, type SourceFreshness } from '../warehouse/freshness.js';
import { oneLine } from '../errors.js';

export interface Health {
  status: 'ok' | 'stale' | 'unreachable';
  database: 'reachable' | 'unreachable';
  error?: string;
  freshness: SourceFreshness[];
}

/** Healthy: the database answers and at least one configured source's newest rates are `ok` (README, Status, for the rules). */
export async function health(db: Db, sources: readonly SourceName[]): Promise<Health> {
  let freshness: SourceFreshness[];
  try {
    freshness = await sourceFreshness(db, sources, new Date());
  } catch (error) {
    return { status: 'unreachable', database: 'unreachable', error: oneLine(error), freshness: [] };
  }
  const fresh = freshness.some((f) => f.configured && f.state === 'ok');
  return { status: fresh ? 'ok' : 'stale', database: 'reachable', freshness };
}
