import { randomUUID } from 'node:crypto';
import { runBackfill } from '../../src/jobs/backfill.js';
import type { Logger } from '../../src/log.js';
import { reprocess } from '../../src/jobs/reprocess.js';
import { ecbHistory } from '../../src/sources/history-chunks.js';
import { getSource } from '../../src/sources/registry.js';
import type { FetchAttempt } from '../../src/sources/types.js';
import { archiveHistory } from '../../src/tiers/archive.js';
import { openObjectStore } from '../../src/tiers/open-store.js';
import { restoreMonth } from '../../src/tiers/restore.js';
import { normalize, WAREHOUSE_BASE } from '../../src/transform/normalize.js';
import { storeAttempt } from '../../src/warehouse/bronze.js';
import type { DirectDb } from '../../src/warehouse/direct.js';
import { loadRates } from '../../src/warehouse/loader.js';
import { maintainReadModels } from '../../src/warehouse/read-models.js';
import type { WarehouseModel } from './read-models-model.js';
import {
  DAY_MS,
  ecbXml,
  monthOf,
  openErApiJson,
  WINDOW_DAYS,
  WINDOW_FROM,
  WINDOW_TO,
  type SourceKey,
  type Step,
  type World,
  type WorldPublication,
} from './read-models-world.js';

const LOCK_WAIT_MS = 10_000;
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const monthText = (yyyymm: number) => `${Math.floor(yyyymm / 100)}-${String(yyyymm % 100).padStart(2, '0')}`;

export interface Harness {
  db: DirectDb;
  world: World;
  model: WarehouseModel;
  sourceIds: Record<SourceKey, number>;
  csvPath: string;
  archiveDir: string;
  log: Logger;
}

const world = (h: Harness, source: SourceKey) => (source === 'ecb' ? h.world.ecb : h.world.openErApi);

/** Runs one step on the warehouse and the model alike; returns what it did, for failure messages. */
export async function runStep(h: Harness, step: Step): Promise<string> {
  switch (step.kind) {
    case 'runs':
      return runs(h, step);
    case 'backfill':
      return backfill(h, step);
    case 'reprocess':
      return replay(h);
    case 'archive':
      return archive(h, step.cutoffMonth);
    case 'restore':
      return restore(h, step.pick);
  }
}

function fetchAttempt(pub: WorldPublication): FetchAttempt {
  const source = getSource(pub.source);
  const body = Buffer.from(pub.source === 'ecb' ? ecbXml(pub) : openErApiJson(pub));
  const contentType = pub.source === 'ecb' ? 'text/xml' : 'application/json';
  return {
    source: pub.source,
    request: source.latestRequest({ baseUrl: `http://127.0.0.1:9/${pub.source}` }),
    startedAt: new Date(pub.asOf + 5 * 60_000),
    durationMs: 1,
    response: { status: 200, headers: { 'content-type': contentType }, body, durationMs: 1 },
  };
}

/**
 * One run as the pipeline makes it: the response to bronze first (committed on its own), then, unless the run is
 * lost before loading, the parsed and normalised payload loaded and the read models maintained in one transaction.
 */
export async function loadAsRun(db: DirectDb, sourceId: number, pub: WorldPublication, lost = false): Promise<void> {
  const runId = randomUUID();
  const attempt = fetchAttempt(pub);
  const extractionId = await storeAttempt(db, runId, 'scheduled', attempt, attempt.startedAt);
  if (lost) return;
  const batch = normalize(getSource(pub.source).parseLatest(attempt.response!));
  if (batch.asOf.getTime() !== pub.asOf)
    throw new Error(`parsed as-of ${batch.asOf.toISOString()} for ${new Date(pub.asOf).toISOString()}`);
  await db.transaction(async (tx) => {
    const counts = await loadRates(tx, {
      runId,
      extractionId,
      sourceId,
      base: WAREHOUSE_BASE,
      asOf: batch.asOf,
      rates: batch.rates,
      flags: new Map(),
      changeThresholdPct: 0,
      now: new Date(),
    });
    await maintainReadModels(tx, [counts.touched]);
  });
}

async function runs(h: Harness, step: Extract<Step, { kind: 'runs' }>): Promise<string> {
  const candidates = world(h, step.source).filter((pub) => !h.model.isLoaded(pub));
  const start = Math.floor(step.at * candidates.length);
  const chosen = candidates.slice(start, start + step.count);
  if (step.newestFirst) chosen.reverse();
  const done: string[] = [];
  for (const [i, pub] of chosen.entries()) {
    if (!h.model.allowed(pub)) continue;
    const lost = ((step.lost >> i) & 1) === 1;
    await loadAsRun(h.db, h.sourceIds[pub.source], pub, lost);
    h.model.bronze.push(pub);
    if (lost) {
      h.model.pending.push(pub);
      done.push(`${new Date(pub.asOf).toISOString()} (bronze only)`);
    } else {
      h.model.load(pub);
      done.push(new Date(pub.asOf).toISOString());
    }
  }
  return `runs ${step.source}: ${done.join(', ') || 'none'}`;
}

/** fxpipe backfill --source ecb-csv over a range of the window, through the real backfill. */
async function backfill(h: Harness, step: Extract<Step, { kind: 'backfill' }>): Promise<string> {
  const fromMs = WINDOW_FROM + Math.floor(step.at * WINDOW_DAYS) * DAY_MS;
  const toMs = Math.min(fromMs + (step.days - 1) * DAY_MS, WINDOW_TO - DAY_MS);
  const range = { from: isoDay(fromMs), to: isoDay(toMs) };
  const inRange = h.world.ecb.filter((pub) => pub.day! >= range.from && pub.day! <= range.to);
  const fresh = inRange.filter((pub) => !h.model.isLoaded(pub));
  for (let month = monthOf(fromMs); month <= monthOf(toMs); month = month % 100 === 12 ? month + 89 : month + 1) {
    if (h.model.archived.has(month)) return `backfill ${range.from}..${range.to}: skipped (archived month)`;
  }
  // The chunk's change rule starts from the last stored values before its first publication and ends deciding the
  // publication after its last one again.
  const first = inRange[0];
  const quotes = new Set(inRange.flatMap((pub) => [...pub.values.keys()]));
  const next = inRange.length > 0 ? h.model.nextLoaded('ecb', inRange.at(-1)!.asOf) : null;
  const nextPub = next === null ? null : h.world.ecb.find((pub) => pub.asOf === next)!;
  if ((first && [...quotes].some((quote) => h.model.rowArchived('ecb', quote, first.asOf))) || (nextPub && !h.model.allowed(nextPub))) {
    return `backfill ${range.from}..${range.to}: skipped (its change rule would read history in the archive)`;
  }
  await runBackfill(h.db, {
    history: () => ecbHistory({ path: h.csvPath }, range),
    range,
    endpoint: 'http://127.0.0.1:9/ecb',
    changeThresholdPct: 0,
    lockWaitMs: LOCK_WAIT_MS,
    log: h.log,
  });
  for (const pub of fresh) h.model.load(pub);
  return `backfill ${range.from}..${range.to}: ${fresh.length} new of ${inRange.length}`;
}

/** fxpipe reprocess: replays bronze, loading the payloads whose load never happened. */
async function replay(h: Harness): Promise<string> {
  const todo = h.model.pending.filter((pub) => !h.model.isLoaded(pub)).sort((a, b) => a.asOf - b.asOf);
  // Every stored payload is replayed: those not loaded yet are loaded, the others decided again (but not in archived months).
  const refused = h.model.bronze.some((pub) => (h.model.archived.has(monthOf(pub.asOf)) ? !h.model.isLoaded(pub) : !h.model.allowed(pub)));
  if (refused) return 'reprocess: skipped (a payload of an archived month, or one whose change rule would read history in the archive)';
  await reprocess(h.db, { changeThresholdPct: 0, lockWaitMs: LOCK_WAIT_MS, log: h.log });
  for (const pub of todo) h.model.load(pub);
  h.model.pending = [];
  return `reprocess: ${todo.map((pub) => `${pub.source} ${new Date(pub.asOf).toISOString()}`).join(', ') || 'nothing new'}`;
}

async function archive(h: Harness, cutoffMonth: number): Promise<string> {
  const cutoff = isoDay(Date.UTC(2024, 1 + cutoffMonth, 1));
  const result = await archiveHistory(h.db, {
    store: openObjectStore(h.archiveDir),
    cutoff,
    dryRun: false,
    lockWaitMs: LOCK_WAIT_MS,
    log: h.log,
  });
  const odd = result.months.filter((m) => m.outcome !== 'archived');
  if (odd.length > 0) throw new Error(`archive before ${cutoff}: ${JSON.stringify(odd)}`);
  const rows = await h.db.query<{ month: number }>(
    `select to_char(month, 'YYYYMM')::int as month from archive_manifest where state = 'archived'`,
  );
  h.model.archive(rows.map((r) => r.month));
  return `archive before ${cutoff}: ${result.months.map((m) => m.month).join(', ') || 'nothing'}`;
}

async function restore(h: Harness, pick: number): Promise<string> {
  const months = [...h.model.archived].sort((a, b) => a - b);
  if (months.length === 0) return 'restore: nothing archived';
  const month = months[pick % months.length]!;
  await restoreMonth(h.db, { month: monthText(month), lockWaitMs: LOCK_WAIT_MS, log: h.log });
  h.model.restore(month);
  return `restore ${monthText(month)}`;
}
