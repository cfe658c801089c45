import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackfill } from '../../src/jobs/backfill.js';
import { createLogger } from '../../src/log.js';
import { reprocess } from '../../src/jobs/reprocess.js';
import { ecbHistory } from '../../src/sources/history-chunks.js';
import { STAGES } from '../../src/jobs/run-trace.js';
import type { DirectDb } from '../../src/warehouse/direct.js';
import { INTERRUPTED } from '../../src/warehouse/runs.js';
import { scratchDir } from '../helpers/database.js';
import { harness, type Harness } from '../helpers/pipeline.js';

/**
 * run, backfill and reprocess share one lifecycle (src/jobs/run-trace.ts): the same stages in every run row, the injected
 * clock for their times, runs of dead processes marked interrupted whichever job starts next, one failure shape.
 */
describe('one run lifecycle for run, backfill and reprocess', () => {
  let h: Harness;
  const log = createLogger('silent');
  const rows = () =>
    h.db.query<{ run_id: string; kind: string; status: string; started_at: Date; stages: string[]; error: string | null }>(
      `select run_id, kind, status, started_at, array(select jsonb_object_keys(stage_ms - 'views') order by 1) as stages, error
       from pipeline_runs order by started_at, run_id`,
    );
  const deadRun = (id: string) =>
    h.db.query(`insert into pipeline_runs (run_id, kind, started_at, status) values ($1, 'manual', now() - interval '1 hour', 'running')`, [
      id,
    ]);

  beforeAll(async () => {
    h = await harness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('records the same stages, at the injected clock, and each marks the runs of dead processes interrupted', async () => {
    const sorted = [...STAGES].sort();
    await deadRun('00000000-0000-4000-8000-000000000001');
    const run = await h.run();
    expect(run.status).toBe('loaded');

    await deadRun('00000000-0000-4000-8000-000000000002');
    const backfillAt = new Date('2025-01-02T08:00:00Z');
    const backfill = await runBackfill(h.db as DirectDb, {
      history: () => ecbHistory({ path: path.resolve('test/fixtures/eurofxref-hist-2024.csv') }, { from: '2024-01-01', to: '2024-01-31' }),
      range: { from: '2024-01-01', to: '2024-01-31' },
      endpoint: 'file',
      changeThresholdPct: 0,
      lockWaitMs: 1000,
      log,
      clock: () => backfillAt,
    });
    expect(backfill.startedAt).toBe(backfillAt.toISOString());

    await deadRun('00000000-0000-4000-8000-000000000003');
    const reprocessAt = new Date('2025-01-03T08:00:00Z');
    const replayed = await reprocess(h.db, { changeThresholdPct: 0, lockWaitMs: 1000, log, clock: () => reprocessAt });

    const all = await rows();
    const byId = new Map(all.map((r) => [r.run_id, r]));
    for (const id of [run.runId, backfill.runId, replayed.runId]) expect(byId.get(id)?.stages, id).toEqual(sorted);
    expect(byId.get(backfill.runId)?.started_at.toISOString()).toBe(backfillAt.toISOString());
    expect(byId.get(replayed.runId)?.started_at.toISOString()).toBe(reprocessAt.toISOString());
    for (const id of [
      '00000000-0000-4000-8000-000000000001',
      '00000000-0000-4000-8000-000000000002',
      '00000000-0000-4000-8000-000000000003',
    ]) {
      expect(byId.get(id), id).toMatchObject({ status: 'failed', error: INTERRUPTED });
    }
  });

  it('a failed backfill is recorded with the chunk and the same stages, and its error names the run and the chunk', async () => {
    // The 2024 history with one line a column short: the year's one chunk fails to parse.
    const lines = readFileSync('test/fixtures/eurofxref-hist-2024.csv', 'utf8').split('\n');
    lines[5] = lines[5]!.replace(/,[^,]*$/, '');
    const broken = path.join(scratchDir('fxpipe-trace-'), 'broken.csv');
    writeFileSync(broken, lines.join('\n'));
    const range = { from: '2024-01-01', to: '2024-12-31' };
    const error = await runBackfill(h.db as DirectDb, {
      history: () => ecbHistory({ path: broken }, range),
      range,
      endpoint: 'file',
      changeThresholdPct: 0,
      lockWaitMs: 1000,
      log,
    }).then(
      () => null,
      (e: unknown) => e as Error,
    );
    const failed = (await rows()).filter((r) => r.kind === 'backfill' && r.status === 'failed').at(-1)!;
    expect(error?.message).toMatch(new RegExp(`^backfill ${failed.run_id} failed at chunk 2024-01-01\\.\\.2024-12-31: .+`));
    expect(failed.stages).toEqual([...STAGES].sort());
    expect(failed.error).toBe(`${error!.message.replace(/^backfill \S+ failed at chunk \S+: /, '')} at chunk 2024-01-01..2024-12-31`);
  });
});
