import { oneLine } from '../errors.js';
import type { Logger } from '../log.js';
import type { SourceName } from '../sources/types.js';
import type { Db } from '../warehouse/db.js';
import { sourceFreshness, type SourceFreshness } from '../warehouse/freshness.js';
import type { LastGoodStore } from './last-good/store.js';

/**
 * What /healthz says, for a load balancer (its HTTP status: 200 while this instance answers, 503 when it cannot) and for
 * whoever is alerted (`status`): `ok` serving from the database, a configured source's rates fresh; `stale` serving
 * from the database, no configured source fresh; `degraded` the database down, the last good latest answers served
 * (some still in force); `down` nothing to serve.
 */
export interface Health {
  status: 'ok' | 'stale' | 'degraded' | 'down';
  serving: 'database' | 'last-good' | 'none';
  database: 'reachable' | 'unreachable';
  freshness: SourceFreshness[];
}

/**
 * The database answering and the sources' freshness (README, Status, for the rules); without the database, whether any
 * last good answer is still in force. Why the database cannot be read goes to the log (warn), not to the caller: it
 * names hosts, ports, paths.
 */
export async function health(db: Db, sources: readonly SourceName[], lastGood: LastGoodStore, log: Logger): Promise<Health> {
  let freshness: SourceFreshness[];
  try {
    freshness = await sourceFreshness(db, sources, new Date());
  } catch (error) {
    log.warn({ err: oneLine(error) }, 'database unreachable');
    const degraded = await lastGood.anyInForce(new Date());
    return { status: degraded ? 'degraded' : 'down', serving: degraded ? 'last-good' : 'none', database: 'unreachable', freshness: [] };
  }
  const fresh = freshness.some((f) => f.configured && f.state === 'ok');
  return { status: fresh ? 'ok' : 'stale', serving: 'database', database: 'reachable', freshness };
}
