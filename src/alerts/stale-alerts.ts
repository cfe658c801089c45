import type { Logger } from '../log.js';
import { oneLine } from '../errors.js';
import type { SourceName } from '../sources/types.js';
import { clearCondition, raiseCondition } from '../warehouse/alert-raised.js';
import type { Db } from '../warehouse/db.js';
import { sourceFreshness, type SourceFreshness } from '../warehouse/freshness.js';
import type { AlertPayload } from './kinds.js';
import { alertPayload } from './payload.js';

/**
 * A stale alert per source that has turned stale since it was last fresh: once raised, a source stays
 * raised (and silent) until its rates are `ok` again. Failing to deliver lowers it again (see notify.ts).
 */
export async function staleAlerts(
  db: Db,
  sources: readonly SourceName[],
  runId: string | null,
  now: Date,
  log: Logger,
): Promise<AlertPayload[]> {
  const alerts: AlertPayload[] = [];
  for (const freshness of await sourceFreshness(db, sources, now)) {
    if (freshness.state === 'ok') await clearCondition(db, 'stale', freshness.source);
    if (freshness.state !== 'stale' && freshness.state !== 'future') continue;
    if (!(await raiseCondition(db, 'stale', freshness.source, now))) {
      log.debug({ source: freshness.source }, 'stale: already alerted');
      continue;
    }
    alerts.push(staleAlert(freshness, runId, now));
  }
  return alerts;
}

function staleAlert(f: SourceFreshness, runId: string | null, now: Date): AlertPayload {
  const expected = f.expectedDay ? `; expected the ECB fix of ${f.expectedDay}` : '';
  return alertPayload('stale', {
    runId,
    occurredAt: now.toISOString(),
    source: f.source,
    message:
      f.state === 'future'
        ? `fxpipe: ${f.source} is not fresh: its newest rates claim an as-of in the future (${f.asOf})`
        : `fxpipe: ${f.source} is stale: its newest rates are as of ${f.asOf} (${f.ageHours} h old${expected})`,
    details: { asOf: f.asOf, ageHours: f.ageHours, cadence: f.cadence, expectedDay: f.expectedDay },
  });
}

/** Lowers a raised condition whose alert did not get through, so the next evaluation tries again. */
export async function lowerStale(db: Db, source: string, log: Logger): Promise<void> {
  await clearCondition(db, 'stale', source).catch((error: unknown) =>
    log.warn({ source, err: oneLine(error) }, 'could not reset the stale alert state'),
  );
}
