/**
 * npm run bench:run — a run of 162 rates served from a local server, against a database already holding
 * one year of 4-hourly history; the median of each stage over 20 runs. Peers measured in the same run:
 * the bare HTTP fetch + JSON.parse of the same payload (the floor any pipeline pays), and the 4-hour slot.
 */
import { loadConfig } from '../config.js';
import { createMarket } from '../demo/market.js';
import { startProviderServer } from '../demo/provider-server.js';
import { createLogger } from '../log.js';
import { runPipeline, type RunResult } from '../pipeline.js';
import { SourceBreakers } from '../sources/breaker.js';
import { defaultHttpPolicy } from '../sources/http.js';
import { openDb, resolveTarget } from '../warehouse/connection.js';
import { recreateDatabase } from '../warehouse/databases.js';
import { initWarehouse } from '../warehouse/init.js';
import { machineLine, report } from './report.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const HISTORY_DAYS = 365;

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

async function main() {
  const config = loadConfig();
  const server = await resolveTarget(config);
  const target = await recreateDatabase(server, 'fxpipe_bench_run');
  const db = await openDb(target);
  await initWarehouse(db);
  const historyEnd = new Date('2025-01-01T00:00:00Z');
  let now = new Date(historyEnd.getTime() - HISTORY_DAYS * 86_400_000);
  const provider = await startProviderServer({ market: createMarket({ seed: 1, start: now }), clock: () => now });
  const log = createLogger('silent');
  const run = () =>
    runPipeline(db, {
      kind: 'manual', sources: ['open-er-api'], verify: false, dryRun: false, changeThresholdPct: 0.01, deviationTolerancePct: 0.5,
      zScoreThreshold: 4, lockWaitMs: 5000, http: defaultHttpPolicy, settingsFor: (s) => ({ baseUrl: provider.baseUrls[s] }), breakers: new SourceBreakers(),
      clock: () => now, log,
    });

  // Dimensions from one real run, then a year of 4-hourly history for every pair.
  await run();
  const started = performance.now();
  await db.query(`select fx_ensure_partitions($1::date, $2::date)`, [now.toISOString().slice(0, 10), historyEnd.toISOString().slice(0, 10)]);
  await db.query(
    `insert into fact_rates_history (date_key, base_currency_id, quote_currency_id, source_id, rate_timestamp, rate)
     select to_char(ts at time zone 'UTC', 'YYYYMMDD')::int, c.base_currency_id, c.quote_currency_id, c.source_id, ts,
            round(c.rate * (1 + (random() - 0.5) / 50)::numeric, 6)
       from fact_rates_current c
      cross join generate_series($1::timestamptz + interval '4 hours', $2::timestamptz - interval '4 hours', interval '4 hours') as ts
     on conflict do nothing`,
    [now, historyEnd],
  );
  await db.query('analyze');
  const [{ rows } = { rows: '0' }] = await db.query<{ rows: string }>('select count(*)::text as rows from fact_rates_history');
  console.error(`seeded ${rows} history rows in ${Math.round(performance.now() - started)} ms`);

  const results: RunResult[] = [];
  const peers: number[] = [];
  for (let i = 0; i < RUNS + 2; i++) {
    now = new Date(historyEnd.getTime() + i * 86_400_000 + 3_600_000);
    const t0 = performance.now();
    JSON.parse(await (await fetch(`${provider.baseUrls['open-er-api']}/v6/latest/USD`)).text());
    const peer = performance.now() - t0;
    const result = await run();
    if (result.status !== 'loaded') throw new Error(`run ${i} ${result.status}: ${result.error}`);
    if (i >= 2) {
      results.push(result);
      peers.push(peer);
    }
  }
  const machine = await machineLine(db, server.label);
  await provider.close();
  await db.close();

  const stage = (key: keyof RunResult['stageMs']) => median(results.map((r) => r.stageMs[key]));
  const total = stage('total');
  const peer = median(peers);
  report({
    bench: 'run',
    title: `${RUNS} runs of ${results[0]!.counts.extracted} rates, ${rows} rows of history already stored`,
    machine,
    details: [
      '| stage | median ms |',
      '|---|---|',
      ...(['lock', 'extract', 'normalize', 'load', 'refresh', 'total'] as const).map((key) => `| ${key} | ${stage(key).toFixed(1)} |`),
    ],
    figures: [
      { figure: 'extract stage vs bare fetch + JSON.parse of the same payload', ours: `${stage('extract').toFixed(1)} ms`, peer: `${peer.toFixed(1)} ms`, ratio: (stage('extract') / peer).toFixed(2) },
      { figure: 'whole run vs the 4-hour schedule slot', ours: `${total.toFixed(1)} ms`, peer: '14400000 ms', ratio: (total / 14_400_000).toExponential(2) },
      { figure: 'view refresh vs the seed\'s 1-minute TimescaleDB threshold', ours: `${stage('refresh').toFixed(1)} ms`, peer: '60000 ms', ratio: (stage('refresh') / 60_000).toExponential(2) },
    ],
  });
}

main().catch((error) => {
  console.error(`bench:run failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
