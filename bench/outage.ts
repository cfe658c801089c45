/**
 * npm run bench:outage — `fxpipe serve` under BENCH_CONNECTIONS (32) keep-alive connections on each backup family's
 * `latest` and on two history routes, phase by phase (BENCH_PHASE_SECONDS, 8 s each) while its PostgreSQL is stopped,
 * killed with SIGKILL, started again, and — with a standby (as root, with Debian's PostgreSQL 15: a primary and a
 * streaming standby made for the bench) — both stopped and failed over. Per phase and route: the answers by status, the
 * answers that never came, and the p99, against the first phase with nothing failing, measured in the same run under
 * the same load. Goals (issue 27): no 5xx on any latest route in any phase; with a standby, no 5xx on any read route in
 * a phase where a server answers reads.
 */
import { failures, runOutage, type PhaseCounts } from './outage-scenario.js';
import { outageSetup } from './outage-setup.js';
import { report, type Figure } from './report.js';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const PHASE_SECONDS = Number(process.env.BENCH_PHASE_SECONDS ?? 8);
const DAYS = 10;

const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(1) : '-');

async function main() {
  const setup = await outageSetup({ days: DAYS, standby: process.env.BENCH_STANDBY !== '0' });
  try {
    console.error(
      `bench:outage: ${setup.kind === 'standby' ? 'a primary and a streaming standby' : `one server (${setup.noStandby})`}; ${setup.phases.length} phases of ${PHASE_SECONDS} s …`,
    );
    const counts = await runOutage(setup.baseUrl, setup.routes, setup.phases, { connections: CONNECTIONS, phaseMs: PHASE_SECONDS * 1000 });
    const base = counts[0]!;
    const details = [
      `${CONNECTIONS} keep-alive connections calling the routes in turn, back to back, through ${counts.length} phases of ${PHASE_SECONDS} s; each phase opens with its action on the servers, taken while the load goes on (the seconds it took in brackets). "no answer": the connection was refused or cut. ${setup.kind === 'standby' ? '`serve` writes through `DATABASE_URL` naming both servers (`read-write`) and reads through `FXPIPE_READ_DATABASE_URL` naming both (`prefer-standby`).' : `No standby here (${setup.noStandby}): \`serve\` reads one embedded server of the bench's own through \`DATABASE_URL\`.`}`,
      '',
      '| phase | route | answers | 2xx | 5xx | no answer | p99 ms |',
      '|---|---|---|---|---|---|---|',
    ];
    for (const phase of counts) {
      for (const route of setup.routes) {
        const c = phase.routes[route.name]!;
        const ok = Object.entries(c.statuses)
          .filter(([s]) => s.startsWith('2'))
          .reduce((n, [, k]) => n + k, 0);
        const bad =
          Object.entries(c.statuses)
            .filter(([s]) => Number(s) >= 500)
            .map(([s, k]) => `${k} (${s})`)
            .join(', ') || '0';
        details.push(
          `| ${phase.phase} (${(phase.actionMs / 1000).toFixed(1)} s) | ${route.name} | ${c.requests} | ${ok} | ${bad} | ${c.failed} | ${ms(c.p99Ms)} |`,
        );
      }
    }
    const figures: Figure[] = counts.slice(1).flatMap((phase) => phaseFigures(phase, base, setup));
    report({
      bench: 'outage',
      machine: setup.machine,
      title: `serve through PostgreSQL failures: ${setup.kind === 'standby' ? 'primary + streaming standby (Debian PostgreSQL 15)' : 'one embedded server'}, ${DAYS} days of demo runs`,
      details,
      figures,
    });
  } finally {
    await setup.close();
  }
}

function phaseFigures(phase: PhaseCounts, base: PhaseCounts, setup: Awaited<ReturnType<typeof outageSetup>>): Figure[] {
  const latest = setup.routes.filter((r) => r.kind === 'latest');
  const p99 = (c: PhaseCounts, names: string[]) => Math.max(...names.map((n) => c.routes[n]!.p99Ms).filter(Number.isFinite));
  const latestNames = latest.map((r) => r.name);
  const figures: Figure[] = [
    {
      figure: `${phase.phase}: latest routes, 5xx or no answer (goal 0); worst p99 vs nothing failing`,
      ours: `${failures(phase, setup.routes, 'latest')}; ${ms(p99(phase, latestNames))} ms`,
      peer: `0; ${ms(p99(base, latestNames))} ms`,
      ratio: (p99(phase, latestNames) / p99(base, latestNames)).toFixed(2),
    },
  ];
  if (setup.kind === 'standby' && phase.readable) {
    const historyNames = setup.routes.filter((r) => r.kind === 'history').map((r) => r.name);
    figures.push({
      figure: `${phase.phase}: history routes, 5xx or no answer (goal 0 with a standby); worst p99 vs nothing failing`,
      ours: `${failures(phase, setup.routes, 'history')}; ${ms(p99(phase, historyNames))} ms`,
      peer: `0; ${ms(p99(base, historyNames))} ms`,
      ratio: (p99(phase, historyNames) / p99(base, historyNames)).toFixed(2),
    });
  }
  return figures;
}

main().catch((error) => {
  console.error(`bench:outage failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
