import type { SourceName } from '../sources/types.js';
import type { Db } from '../warehouse/db.js';
import { sourceFreshness, type SourceFreshness } from '../warehouse/freshness.js';
import { oneLine } from '../errors.js';
import type { Logger } from '../log.js';

export interface Health {
  status: 'ok' | 'stale' | 'unreachable';
  database: 'reachable' | 'unreachable';
  error?: string;
  freshness: SourceFreshness[];
}

/**
 * Healthy: the database answers and at least one configured source's newest rates are `ok` (README, Status, for the
 * rules). Why the database cannot be read goes to the log (warn), not to the caller: it names hosts, ports, paths.
 */
export async function health(db: Db, sources: readonly SourceName[], log: Logger): Promise<Health> {
  let freshness: SourceFreshness[];
  try {
    freshness = await sourceFreshness(db, sources, new Date());
  } catch (error) {
    log.warn({ err: oneLine(error) }, 'database unreachable');
    return { status: 'unreachable', database: 'unreachable', error: 'database unreachable', freshness: [] };
  }
  const fresh = freshness.some((f) => f.configured && f.state === 'ok');
  return { status: fresh ? 'ok' : 'stale', database: 'reachable', freshness };
}
