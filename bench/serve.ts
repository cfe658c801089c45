import { packageRoot } from '../src/util/package-root.js';
/**
 * npm run bench:serve — GET /api/v1/convert on `fxpipe serve` (a child process, as users run it, default pool of
 * 10 connections) under BENCH_CONNECTIONS (32) concurrent keep-alive HTTP connections for BENCH_SECONDS (10) s,
 * after 2 s of warm-up, over a 30-day demo warehouse; random pairs of the 162 currencies. Peers measured in the same
 * run under the same concurrency: a static asset of the same server (the HTTP floor: no database), and the same
 * api.convert call straight over PostgreSQL from a pool of as many connections (the database floor: no HTTP).
 *
 * Then each backup family's `latest` (docs/backup.md: Frankfurter, Open Exchange Rates, ExchangeRate-API v6,
 * open.er-api) under the same load, 8 bases in turn, against the same static asset (issue 15: ≥ 0.5 of it).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { Pool } from 'undici';
import { loadConfig } from '../src/config.js';
import { hashSeed, mulberry32 } from '../src/demo/prng.js';
import { runDemo } from '../src/demo/run-demo.js';
import { createLogger } from '../src/log.js';
import { openDb, resolveTarget } from '../src/warehouse/connection.js';
import { recreateDatabase } from '../src/warehouse/databases.js';
import { initWarehouse } from '../src/warehouse/init.js';
import { machineLine, report } from './report.js';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP_SECONDS = 2;
const BIN = path.join(packageRoot, 'bin', 'fxpipe.js');

interface Load {
  requests: number;
  errors: number;
  perSecond: number;
  p50: number;
  p99: number;
}

/** `connections` workers calling `call` back to back for `seconds`; latencies of the calls that succeeded. */
async function load(call: (i: number) => Promise<void>, seconds: number, connections: number): Promise<Load> {
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const until = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: connections }, async (_, worker) => {
      for (let i = worker; performance.now() < until; i += connections) {
        const t0 = performance.now();
        try {
          await call(i);
          latencies.push(performance.now() - t0);
        } catch {
          errors++;
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)] ?? NaN;
  return { requests: latencies.length, errors, perSecond: latencies.length / elapsed, p50: at(0.5), p99: at(0.99) };
}

async function main() {
  if (!Number.isInteger(CONNECTIONS) || CONNECTIONS < 1 || CONNECTIONS > 1000)
    throw new Error(`BENCH_CONNECTIONS must be 1 to 1000, got ${process.env.BENCH_CONNECTIONS}`);
  if (!(SECONDS > 0 && SECONDS <= 600))
    throw new Error(`BENCH_SECONDS must be more than 0 and at most 600, got ${process.env.BENCH_SECONDS}`);
  const config = loadConfig();
  const server = await resolveTarget(config);
  const target = await recreateDatabase(server, 'fxpipe_bench_serve');
  const db = await openDb(target);
  await initWarehouse(db);
  const demo = await runDemo(db, { days: 30, seed: 42, end: new Date(), log: createLogger('silent') });
  console.error(`demo warehouse: ${demo.runs} runs in ${(demo.elapsedMs / 1000).toFixed(1)} s`);
  const codes = (await db.query<{ code: string }>(`select quote as code from api.latest_rates where base = 'USD' and preferred`))
    .map((r) => r.code)
    .concat('USD');
  const rng = mulberry32(hashSeed(8));
  const pairs = Array.from({ length: 4096 }, () => {
    const from = codes[Math.floor(rng() * codes.length)]!;
    let to = codes[Math.floor(rng() * codes.length)]!;
    while (to === from) to = codes[Math.floor(rng() * codes.length)]!;
    return [from, to] as const;
  });

  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0'], {
    env: { ...process.env, DATABASE_URL: target.url, FXPIPE_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const origin = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`fxpipe serve did not start: ${out}`)), 60_000);
    child.stdout.on('data', () => {
      const match = /http:\/\/127\.0\.0\.1:\d+/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[0]);
      }
    });
    child.once('exit', (code) => reject(new Error(`fxpipe serve exited ${code}`)));
  });

  const http = new Pool(origin, { connections: CONNECTIONS, pipelining: 1 });
  const get = async (requestPath: string) => {
    const response = await http.request({ path: requestPath, method: 'GET' });
    const body = await response.body.text();
    if (response.statusCode !== 200) throw new Error(`${response.statusCode} ${body}`);
  };
  const convertPath = (i: number) => `/api/v1/convert?from=${pairs[i % pairs.length]![0]}&to=${pairs[i % pairs.length]![1]}&amount=100`;
  const direct = new pg.Pool({ connectionString: target.url, max: CONNECTIONS });
  const bases = ['USD', 'EUR', 'GBP', 'JPY', 'CHF', 'CAD', 'AUD', 'SEK'];
  const families: [name: string, path: (base: string) => string][] = [
    ['Frankfurter /frankfurter/v1/latest', (base) => `/frankfurter/v1/latest?base=${base}`],
    ['Open Exchange Rates /openexchangerates/api/latest.json', (base) => `/openexchangerates/api/latest.json?app_id=bench&base=${base}`],
    ['ExchangeRate-API /exchangerate-api/v6/{key}/latest', (base) => `/exchangerate-api/v6/bench-key/latest/${base}`],
    ['open.er-api /open-er-api/v6/latest', (base) => `/open-er-api/v6/latest/${base}`],
    ['Frankfurter v2 /frankfurter/v2/rates', (base) => `/frankfurter/v2/rates?base=${base}`],
    ['Fixer /fixer/latest', (base) => `/fixer/latest?access_key=bench&base=${base}`],
  ];
  // The 30 days of one pair's history in each format /api/v1/history answers (all three streamed the same way).
  const formats: [name: string, path: string][] = ['json', 'csv', 'ndjson'].map((format) => [
    `GET /api/v1/history?format=${format}`,
    `/api/v1/history?pair=USD/EUR&format=${format}`,
  ]);
  const sql = (i: number) =>
    direct
      .query('select * from api.convert(100, $1, $2)', [pairs[i % pairs.length]![0], pairs[i % pairs.length]![1]])
      .then(() => undefined);

  try {
    await load((i) => get(convertPath(i)), WARMUP_SECONDS, CONNECTIONS);
    const convert = await load((i) => get(convertPath(i)), SECONDS, CONNECTIONS);
    console.error(`convert over HTTP: ${Math.round(convert.perSecond)} requests/s`);
    await load(() => get('/assets/dashboard.css'), WARMUP_SECONDS, CONNECTIONS);
    const asset = await load(() => get('/assets/dashboard.css'), SECONDS, CONNECTIONS);
    console.error(`static asset: ${Math.round(asset.perSecond)} requests/s`);
    await load(sql, WARMUP_SECONDS, CONNECTIONS);
    const database = await load(sql, SECONDS, CONNECTIONS);
    console.error(`api.convert over PostgreSQL: ${Math.round(database.perSecond)} queries/s`);
    if (convert.errors || asset.errors || database.errors)
      throw new Error(`errors under load: convert ${convert.errors}, asset ${asset.errors}, sql ${database.errors}`);
    const latest: [string, Load][] = [];
    for (const [name, path] of families) {
      const call = (i: number) => get(path(bases[i % bases.length]!));
      await load(call, WARMUP_SECONDS, CONNECTIONS);
      const measured = await load(call, SECONDS, CONNECTIONS);
      if (measured.errors) throw new Error(`errors under load: ${name} ${measured.errors}`);
      console.error(`${name}: ${Math.round(measured.perSecond)} requests/s`);
      latest.push([name, measured]);
    }

    const history: [string, Load][] = [];
    for (const [name, path] of formats) {
      await load(() => get(path), WARMUP_SECONDS, CONNECTIONS);
      const measured = await load(() => get(path), SECONDS, CONNECTIONS);
      if (measured.errors) throw new Error(`errors under load: ${name} ${measured.errors}`);
      console.error(`${name}: ${Math.round(measured.perSecond)} requests/s`);
      history.push([name, measured]);
    }

    const ms = (v: number) => `${v.toFixed(2)} ms`;
    report({
      bench: 'serve',
      title: `GET /api/v1/convert and the backup families' latest, ${CONNECTIONS} concurrent connections, ${SECONDS} s each, on a 30-day demo warehouse (${codes.length} currencies)`,
      machine: await machineLine(db, server.label),
      details: [
        `fxpipe serve in its own process (pooled path, 10 database connections), the load generator in another (undici, ${CONNECTIONS} keep-alive connections), both on this machine's ${os.cpus().length} cores with PostgreSQL.`,
        '',
        '| load | requests | per second | p50 | p99 |',
        '|---|---|---|---|---|',
        `| GET /api/v1/convert (random pairs) | ${convert.requests} | ${Math.round(convert.perSecond)} | ${ms(convert.p50)} | ${ms(convert.p99)} |`,
        `| GET /assets/dashboard.css (same server, no database) | ${asset.requests} | ${Math.round(asset.perSecond)} | ${ms(asset.p50)} | ${ms(asset.p99)} |`,
        `| select * from api.convert(100, $1, $2) over PostgreSQL (pg.Pool of ${CONNECTIONS}, no HTTP) | ${database.requests} | ${Math.round(database.perSecond)} | ${ms(database.p50)} | ${ms(database.p99)} |`,
        ...latest.map(
          ([name, l]) =>
            `| backup: ${name} (${bases.length} bases in turn, every rate) | ${l.requests} | ${Math.round(l.perSecond)} | ${ms(l.p50)} | ${ms(l.p99)} |`,
        ),
        ...history.map(
          ([name, l]) => `| ${name} (USD/EUR, 30 days) | ${l.requests} | ${Math.round(l.perSecond)} | ${ms(l.p50)} | ${ms(l.p99)} |`,
        ),
      ],
      figures: [
        {
          figure: `convert requests/s under ${CONNECTIONS} connections vs the same server's static asset`,
          ours: `${Math.round(convert.perSecond)}`,
          peer: `${Math.round(asset.perSecond)}`,
          ratio: (convert.perSecond / asset.perSecond).toFixed(3),
        },
        {
          figure: `convert requests/s vs api.convert straight over PostgreSQL (${CONNECTIONS} connections)`,
          ours: `${Math.round(convert.perSecond)}`,
          peer: `${Math.round(database.perSecond)}`,
          ratio: (convert.perSecond / database.perSecond).toFixed(3),
        },
        {
          figure: `convert p99 latency vs api.convert over PostgreSQL p99`,
          ours: ms(convert.p99),
          peer: ms(database.p99),
          ratio: (convert.p99 / database.p99).toFixed(2),
        },
        {
          figure: 'convert p50 latency vs the static asset p50',
          ours: ms(convert.p50),
          peer: ms(asset.p50),
          ratio: (convert.p50 / asset.p50).toFixed(2),
        },
        ...latest.map(([name, l]) => ({
          figure: `backup ${name}: requests/s vs the same server's static asset (target ≥ 0.5)`,
          ours: `${Math.round(l.perSecond)}`,
          peer: `${Math.round(asset.perSecond)}`,
          ratio: (l.perSecond / asset.perSecond).toFixed(3),
        })),
        ...history.slice(1).map(([name, l]) => ({
          figure: `${name}: requests/s vs the same history as JSON`,
          ours: `${Math.round(l.perSecond)}`,
          peer: `${Math.round(history[0]![1].perSecond)}`,
          ratio: (l.perSecond / history[0]![1].perSecond).toFixed(3),
        })),
      ],
    });
  } finally {
    await http.close();
    await direct.end();
    child.kill('SIGTERM');
    await once(child, 'exit');
    await db.close();
  }
}

main().catch((error) => {
  console.error(`bench:serve failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
