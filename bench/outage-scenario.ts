import { Pool } from 'undici';

/**
 * What `fxpipe serve` answers while its PostgreSQL fails (issue 27): steady load on each backup family's `latest` and on
 * history routes, split into phases, each opened by an action on the servers (stop, SIGKILL, start, fail over) taken
 * while the load goes on. Every answer is counted by phase, route and status, with its latency. npm run bench:outage
 * runs it at length; test/serve/outage.e2e.test.ts runs it short and asserts the counts.
 */
export interface OutageRoute {
  name: string;
  path: string;
  /** latest: answered through an outage from the last good answers; history: needs a server to answer. */
  kind: 'latest' | 'history';
}

export interface Phase {
  name: string;
  /** Taken at the phase's start, while the load goes on. */
  action?: () => Promise<void>;
  /** Whether some server can answer reads during the phase: history routes are then expected to answer too. */
  readable: boolean;
}

export interface RouteCounts {
  requests: number;
  /** Answers by HTTP status ("200", "503", …). */
  statuses: Record<string, number>;
  /** Requests that got no HTTP answer at all (a refused or cut connection). */
  failed: number;
  p99Ms: number;
}

export interface PhaseCounts {
  phase: string;
  readable: boolean;
  /** How long the phase's action took (the load went on meanwhile). */
  actionMs: number;
  routes: Record<string, RouteCounts>;
}

/** The routes: each family's latest and two history routes (a closed range of days, and fxpipe's own history). */
export function outageRoutes(from: string, to: string): OutageRoute[] {
  return [
    { name: 'Frankfurter latest', path: '/frankfurter/v1/latest?base=USD', kind: 'latest' },
    { name: 'OXR latest.json', path: '/openexchangerates/api/latest.json', kind: 'latest' },
    { name: 'ExchangeRate-API latest', path: '/exchangerate-api/v6/key/latest/USD', kind: 'latest' },
    { name: 'open.er-api latest', path: '/open-er-api/v6/latest/USD', kind: 'latest' },
    { name: '/api/v1/latest', path: '/api/v1/latest', kind: 'latest' },
    { name: 'Frankfurter range', path: `/frankfurter/v1/${from}..${to}?base=USD`, kind: 'history' },
    { name: '/api/v1/history', path: `/api/v1/history?pair=USD/EUR&from=${from}&to=${to}`, kind: 'history' },
  ];
}

/**
 * `connections` keep-alive connections call the routes in turn, back to back, through every phase (each `phaseMs` long,
 * counted from the end of its action); an answer counts in the phase it came in.
 */
export async function runOutage(
  baseUrl: string,
  routes: OutageRoute[],
  phases: Phase[],
  options: { connections: number; phaseMs: number },
): Promise<PhaseCounts[]> {
  const pool = new Pool(baseUrl, { connections: options.connections, headersTimeout: 30_000, bodyTimeout: 30_000 });
  const samples = phases.map(() =>
    routes.map((): Pick<RouteCounts, 'statuses' | 'failed'> & { latencies: number[] } => ({ latencies: [], statuses: {}, failed: 0 })),
  );
  const actionMs = phases.map(() => 0);
  let phase = 0;
  let running = true;
  const workers = Array.from({ length: options.connections }, async (_, worker) => {
    for (let i = worker; running; i++) {
      const r = i % routes.length;
      const started = performance.now();
      try {
        const { statusCode, body } = await pool.request({ method: 'GET', path: routes[r]!.path });
        await body.dump();
        // Counted in the phase the answer came in: one in flight when the next action began is that phase's.
        const counted = samples[phase]![r]!;
        counted.statuses[statusCode] = (counted.statuses[statusCode] ?? 0) + 1;
        counted.latencies.push(performance.now() - started);
      } catch {
        samples[phase]![r]!.failed++;
        // A refused connection fails at once: do not spin.
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
  });
  try {
    for (let p = 0; p < phases.length; p++) {
      phase = p;
      const started = performance.now();
      await phases[p]!.action?.();
      actionMs[p] = performance.now() - started;
      await new Promise((resolve) => setTimeout(resolve, options.phaseMs));
    }
  } finally {
    running = false;
    await Promise.all(workers);
    await pool.close();
  }
  return phases.map((p, i) => ({
    phase: p.name,
    readable: p.readable,
    actionMs: actionMs[i]!,
    routes: Object.fromEntries(
      routes.map((route, r) => {
        const s = samples[i]![r]!;
        const sorted = [...s.latencies].sort((a, b) => a - b);
        const p99 = sorted[Math.min(sorted.length - 1, Math.ceil(0.99 * sorted.length) - 1)] ?? NaN;
        return [route.name, { requests: sorted.length + s.failed, statuses: s.statuses, failed: s.failed, p99Ms: p99 }];
      }),
    ),
  }));
}

/** Answers of a phase's routes of one kind that were 5xx or no answer at all: the goal is none. */
export function failures(counts: PhaseCounts, routes: OutageRoute[], kind: OutageRoute['kind']): number {
  return routes
    .filter((r) => r.kind === kind)
    .reduce((sum, r) => {
      const c = counts.routes[r.name]!;
      return (
        sum +
        c.failed +
        Object.entries(c.statuses)
          .filter(([status]) => Number(status) >= 500)
          .reduce((n, [, k]) => n + k, 0)
      );
    }, 0);
}
