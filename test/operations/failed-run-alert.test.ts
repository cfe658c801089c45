import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ALERT_KINDS } from '../../src/alerts/kinds.js';
import { notifyFailedRun, type AlertSettings } from '../../src/alerts/notify.js';
import { runAlerts } from '../../src/alerts/run-alerts.js';
import { failedRunResult } from '../../src/jobs/pipeline.js';
import { createLogger } from '../../src/log.js';
import { UnrecordedAlerts } from '../../src/warehouse/alert-log.js';
import type { FailedRun } from '../../src/warehouse/runs.js';
import { startReceiver, type Receiver } from '../helpers/webhook-receiver.js';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const silent = createLogger('silent');

/** A slot the database kept from running, as src/jobs/missed-slot.ts records it. */
const MISSED: FailedRun = {
  runId: '0190f1c2-7a3b-7c4d-8e5f-a1b2c3d4e5f6',
  kind: 'scheduled',
  startedAt: new Date('2024-05-10T08:00:00.000Z'),
  finishedAt: new Date('2024-05-10T08:00:03.250Z'),
  error: 'database unreachable: connect ECONNREFUSED 127.0.0.1:5432',
  sourceUsed: null,
  counts: null,
  stageMs: { lock: 0, extract: 0, normalize: 0, load: 0, refresh: 0, total: 3250 },
};

describe('notifyFailedRun (a missed slot, without a run result)', () => {
  let receiver: Receiver;
  beforeEach(async () => {
    receiver = await startReceiver();
  });
  afterEach(() => receiver.close());

  const settings = (overrides: Partial<AlertSettings> = {}): AlertSettings => ({
    webhookUrl: `${receiver.origin}/hook`,
    alerts: [...ALERT_KINDS],
    watchPairs: ['USD/EUR'],
    alertMovePct: 2,
    webhookTimeoutMs: 2000,
    sources: ['open-er-api', 'frankfurter'],
    ...overrides,
  });

  it("posts the run_failed a failed run's result raises, field for field; kept for alert_log while the database fails", async () => {
    const unrecorded = new UnrecordedAlerts();
    const outcomes = await notifyFailedRun(null, settings(), MISSED, silent, { unrecorded });
    expect(outcomes).toEqual([{ kind: 'run_failed', source: null, delivered: true, attempts: 1 }]);
    expect(receiver.received.map((r) => r.body)).toEqual([
      {
        kind: 'run_failed',
        severity: 'critical',
        message: `fxpipe run ${MISSED.runId} failed: ${MISSED.error}`,
        runId: MISSED.runId,
        occurredAt: '2024-05-10T08:00:03.250Z',
        source: null,
        details: { runKind: 'scheduled', error: MISSED.error, sources: [] },
        fxpipe: { version: VERSION },
      },
    ]);
    // The payload a failed run's result (cli/run.ts's path) gives: the same.
    const rules = { enabled: [...ALERT_KINDS], watchPairs: ['USD/EUR'], movePct: 2 };
    expect(receiver.received[0]!.body).toEqual(runAlerts(failedRunResult(MISSED), rules)[0]);
    expect(unrecorded.drain()).toEqual([receiver.received[0]!.body]);
  });

  it('sends nothing when run_failed is switched off, or without a webhook', async () => {
    expect(await notifyFailedRun(null, settings({ alerts: ['stale', 'failover'] }), MISSED, silent)).toEqual([]);
    expect(await notifyFailedRun(null, settings({ webhookUrl: undefined }), MISSED, silent)).toEqual([]);
    expect(receiver.received).toEqual([]);
  });
});
