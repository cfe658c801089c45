import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failures, runOutage, type PhaseCounts } from '../../bench/outage-scenario.js';
import { outageSetup, type OutageSetup } from '../../bench/outage-setup.js';

/**
 * npm run bench:outage's scenario, short (issue 27): 8 connections on each family's latest and two history routes while
 * PostgreSQL is stopped, killed with SIGKILL, started again and (as root, with Debian's PostgreSQL 15: a primary and a
 * streaming standby) failed over. The assertions are the counts: no 5xx (or missing answer) on a latest route in any
 * phase; with a standby, none on any read route while a server answers reads.
 */
const SKIP = process.env.DATABASE_URL ? 'runs in the embedded pass: it makes its own servers, whatever server the suite uses' : null;

describe('fxpipe serve through PostgreSQL failures', () => {
  let setup: OutageSetup | undefined;
  let counts: PhaseCounts[] = [];

  beforeAll(async () => {
    if (SKIP) return;
    setup = await outageSetup({ days: 3, standby: true });
    counts = await runOutage(setup.baseUrl, setup.routes, setup.phases, { connections: 8, phaseMs: 1500 });
  }, 240_000);

  afterAll(async () => {
    await setup?.close();
  });

  it('answers every latest route in every phase: no 5xx, no answer missing', (ctx) => {
    ctx.skip(SKIP !== null, SKIP ?? '');
    for (const phase of counts) {
      for (const route of setup!.routes) expect(phase.routes[route.name]!.requests, `${phase.phase}: ${route.name}`).toBeGreaterThan(0);
      expect({ phase: phase.phase, failed: failures(phase, setup!.routes, 'latest') }).toEqual({ phase: phase.phase, failed: 0 });
    }
  });

  it('with a standby, answers the history routes too while a server answers reads; without one, answers them as soon as the database is back', (ctx) => {
    ctx.skip(SKIP !== null, SKIP ?? '');
    expect(failures(counts[0]!, setup!.routes, 'history')).toBe(0);
    if (setup!.kind === 'standby') {
      for (const phase of counts.filter((p) => p.readable)) {
        expect({ phase: phase.phase, failed: failures(phase, setup!.routes, 'history') }).toEqual({ phase: phase.phase, failed: 0 });
      }
    }
    // While nothing answers reads, a history route is a 503 (never a 500), in its family's shape.
    for (const phase of counts.filter((p) => !p.readable)) {
      for (const route of setup!.routes.filter((r) => r.kind === 'history')) {
        expect(
          Object.keys(phase.routes[route.name]!.statuses).filter((status) => status !== '200' && status !== '503'),
          `${phase.phase}: ${route.name}`,
        ).toEqual([]);
      }
    }
  });
});
