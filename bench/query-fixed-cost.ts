/**
 * bench:archive's measure of `fxpipe query`'s fixed cost: what a query pays besides its own work.
 * - The issue's measure, as bench:archive took it when the issue was filed ("of which the fixed cost of every fxpipe
 *   query: `select 1`", 472 ms of a 617 ms query, nearly all of it exporting the hot rows): runQuery("select 1") in a
 *   process with fxpipe's modules loaded and its connection open — the hot tier's state read, the snapshot checked,
 *   DuckDB opened, the views and the confinement set up, the guard. Goal: 100 ms.
 * - The whole command as a user runs it: `fxpipe query "select 1"` (the CLI, a new process each time, its wall time
 *   from spawn to exit), first with no hot snapshot (that run writes it), then with it in place, against what the
 *   same machine needs without fxpipe: `psql -c`, Node alone, Node loading @duckdb/node-api and answering `select 1`
 *   in an in-memory DuckDB (the floor of any Node CLI answering through DuckDB), Node loading pg, connecting and
 *   answering `select 1`, and fxpipe's modules for `query` loaded with nothing run (`fxpipe query --help`).
 * The processes run in rounds, one of each per round, so load from elsewhere on the machine falls on all of them
 * alike; each figure is the median of BENCH_STARTS rounds (15).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { snapshotRoot } from '../src/tiers/hot-snapshot.js';
import { runQuery } from '../src/tiers/query.js';
import type { Target } from '../src/warehouse/connection.js';
import type { DirectDb } from '../src/warehouse/direct.js';
import type { Figure } from './report.js';

/** The issue's goal for `fxpipe query`'s fixed cost once the hot snapshot exists. */
const FIXED_COST_GOAL_MS = 100;
const STARTS = Number(process.env.BENCH_STARTS ?? 15);
const MIB = 1024 * 1024;

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** A process run to its end; its wall time (spawn to exit) and stdout; throws when it fails. */
async function runProcess(root: string, command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ ms: number; stdout: string }> {
  const started = performance.now();
  const child = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  const ms = performance.now() - started;
  if (code !== 0)
    throw new Error(
      `${path.basename(command)} ${args[0] === '-e' ? '-e' : args.join(' ')} exited ${code}: ${stderr.trim().split('\n')[0]}`,
    );
  return { ms, stdout };
}

/** Every process measured, with what it must print: the password only ever in the environment. */
function processes(root: string, target: Target, home: string) {
  const url = new URL(target.url);
  const password = decodeURIComponent(url.password);
  url.password = '';
  const base = { PATH: process.env.PATH, HOME: process.env.HOME };
  const fxpipe = path.join(root, 'bin', 'fxpipe.js');
  const node =
    (script: string, env: NodeJS.ProcessEnv = base) =>
    () =>
      runProcess(root, process.execPath, ['-e', script], env);
  return {
    fxpipe: () =>
      runProcess(root, process.execPath, [fxpipe, 'query', 'select 1', '--format', 'csv'], {
        ...base,
        DATABASE_URL: target.url,
        FXPIPE_HOME: home,
        FXPIPE_LOG_LEVEL: 'error',
      }),
    psql: () => runProcess(root, 'psql', [url.toString(), '-X', '-q', '-A', '-t', '-c', 'select 1'], { ...base, PGPASSWORD: password }),
    node: node(''),
    nodeDuckDb: node(`require('@duckdb/node-api').DuckDBInstance.create(':memory:')
      .then((instance) => instance.connect()).then((connection) => connection.run('select 1'))`),
    nodePg: node(
      `const client = new (require('pg').Client)({ connectionString: process.env.DATABASE_URL });
      client.connect().then(() => client.query('select 1')).then(() => client.end())`,
      { ...base, DATABASE_URL: target.url },
    ),
    fxpipeHelp: () => runProcess(root, process.execPath, [fxpipe, 'query', '--help'], base),
  };
}

type Measured = keyof ReturnType<typeof processes>;

/** The one hot snapshot under cacheDir: its history file's identity (inode and mtime), its hot rows and its size in bytes. */
async function hotSnapshot(cacheDir: string): Promise<{ identity: string; rows: number; bytes: number }> {
  const root = snapshotRoot(cacheDir);
  const keys = (await readdir(root)).filter((name) => /^[0-9a-f]{64}$/.test(name));
  if (keys.length !== 1) throw new Error(`expected one hot snapshot in ${root}, found ${keys.length}`);
  const files = await readdir(path.join(root, keys[0]!));
  let bytes = 0;
  for (const file of files) bytes += (await stat(path.join(root, keys[0]!, file))).size;
  const history = await stat(path.join(root, keys[0]!, 'history.parquet'), { bigint: true });
  const meta = JSON.parse(await readFile(path.join(root, keys[0]!, 'meta.json'), 'utf8')) as { files: { history: { rows: number } } };
  return { identity: `${history.ino}:${history.mtimeNs}`, rows: meta.files.history.rows, bytes };
}

export interface FixedCost {
  details: string;
  figures: Figure[];
}

/**
 * Measures `fxpipe query "select 1"` against a warehouse with archived months (target) whose hot snapshot does not
 * exist yet under home; db is a connection to the same warehouse for the in-process query. root: the package.
 */
export async function measureFixedCost(root: string, target: Target, home: string, db: DirectDb): Promise<FixedCost> {
  if (!Number.isInteger(STARTS) || STARTS < 1 || STARTS > 200)
    throw new Error(`BENCH_STARTS must be a whole number from 1 to 200, got ${process.env.BENCH_STARTS}`);
  const cacheDir = path.join(home, 'cache');
  const run = processes(root, target, home);
  const first = await run.fxpipe();
  if (first.stdout !== '1\n1\n') throw new Error(`fxpipe query "select 1" printed ${JSON.stringify(first.stdout)}`);
  const written = await hotSnapshot(cacheDir);

  const times = Object.fromEntries(Object.keys(run).map((name) => [name, [] as number[]])) as Record<Measured, number[]>;
  for (let round = 0; round < STARTS; round++) {
    for (const name of Object.keys(run) as Measured[]) {
      const { ms, stdout } = await run[name]();
      if ((name === 'fxpipe' && stdout !== '1\n1\n') || (name === 'psql' && stdout.trim() !== '1'))
        throw new Error(`${name} printed ${JSON.stringify(stdout)}`);
      times[name].push(ms);
    }
  }
  if ((await hotSnapshot(cacheDir)).identity !== written.identity)
    throw new Error('the hot snapshot was written again although nothing changed');
  const engineTimes: number[] = [];
  for (let i = 0; i < STARTS; i++) {
    const started = performance.now();
    const answer = await runQuery(db, 'select 1', { cacheDir });
    engineTimes.push(performance.now() - started);
    if (answer.snapshotWritten) throw new Error('the in-process query wrote the hot snapshot again');
  }
  const ms = Object.fromEntries(Object.entries(times).map(([name, values]) => [name, median(values)])) as Record<Measured, number>;
  const engine = median(engineTimes);
  const beyondDuckDb = ms.fxpipe - ms.nodeDuckDb;
  const f0 = (value: number) => `${value.toFixed(0)} ms`;
  console.error(
    `fxpipe query "select 1": in-process ${f0(engine)}; the command first ${f0(first.ms)}, then ${f0(ms.fxpipe)}, ${f0(beyondDuckDb)} beyond node + DuckDB ` +
      `(${f0(ms.nodeDuckDb)}); psql ${f0(ms.psql)}, node + pg ${f0(ms.nodePg)}, node ${f0(ms.node)}, fxpipe query --help ${f0(ms.fxpipeHelp)}`,
  );

  const of = `median of ${STARTS}, in rounds with the others`;
  return {
    details:
      `fxpipe query's fixed cost, \`select 1\` in a process with fxpipe's modules loaded and its connection open (the hot tier's state read, ` +
      `the snapshot checked, DuckDB opened, the views and the confinement, the guard), took ${f0(engine)} (median of ${STARTS}; goal: ${FIXED_COST_GOAL_MS} ms). ` +
      `As a user runs it, \`fxpipe query "select 1"\` with the hot snapshot in place took ${f0(ms.fxpipe)} (${of}). Node starting and exiting takes ${f0(ms.node)}, ` +
      `and loading @duckdb/node-api and answering \`select 1\` in a new in-memory DuckDB ${f0(ms.nodeDuckDb - ms.node)} more: the ${f0(ms.nodeDuckDb)} ` +
      `no Node CLI answering through DuckDB goes below. The command takes ${f0(beyondDuckDb)} beyond that: Node loading pg, connecting to PostgreSQL and ` +
      `running \`select 1\` takes ${f0(ms.nodePg - ms.node)} more than Node alone (psql ${f0(ms.psql)} in all), fxpipe's command modules ` +
      `(\`fxpipe query --help\` takes ${f0(ms.fxpipeHelp - ms.node)} more than Node alone, pg included), and the query's own work, less what of it overlaps: ` +
      'DuckDB loads while the connection is made, and opens while PostgreSQL answers.',
    figures: [
      {
        figure: `fxpipe query's fixed cost: \`select 1\` in a process with its modules loaded and its connection open (hot tier's state, snapshot check, DuckDB, views, confinement, guard; median of ${STARTS}), against the goal`,
        ours: f0(engine),
        peer: `${FIXED_COST_GOAL_MS} ms`,
        ratio: (engine / FIXED_COST_GOAL_MS).toFixed(2),
      },
      {
        figure: `\`fxpipe query "select 1"\` wall time, a new process each time, the hot snapshot in place (${of}), vs \`psql -c "select 1"\``,
        ours: f0(ms.fxpipe),
        peer: f0(ms.psql),
        ratio: (ms.fxpipe / ms.psql).toFixed(1),
      },
      {
        figure: `the same beyond the floor of \`node -e\` loading @duckdb/node-api and answering \`select 1\` in a new in-memory DuckDB (${f0(ms.nodeDuckDb)}), vs \`node -e\` loading pg, connecting and answering \`select 1\` beyond Node alone`,
        ours: f0(beyondDuckDb),
        peer: f0(ms.nodePg - ms.node),
        ratio: (beyondDuckDb / (ms.nodePg - ms.node)).toFixed(2),
      },
      {
        figure:
          'the floor: `node -e` loading @duckdb/node-api and answering `select 1` in a new in-memory DuckDB, vs Node starting and exiting (`node -e ""`)',
        ours: f0(ms.nodeDuckDb),
        peer: f0(ms.node),
        ratio: (ms.nodeDuckDb / ms.node).toFixed(1),
      },
      {
        figure: `the first run, which writes the hot snapshot (${written.rows} hot rows, ${(written.bytes / MIB).toFixed(1)} MiB of Parquet), vs the runs after it`,
        ours: f0(first.ms),
        peer: f0(ms.fxpipe),
        ratio: (first.ms / ms.fxpipe).toFixed(1),
      },
      {
        figure: '`node -e` loading pg, connecting to PostgreSQL and running `select 1`, vs `psql -c "select 1"`',
        ours: f0(ms.nodePg),
        peer: f0(ms.psql),
        ratio: (ms.nodePg / ms.psql).toFixed(1),
      },
      {
        figure: 'Node with fxpipe\'s modules for `query` loaded, nothing run (`fxpipe query --help`), vs `node -e ""`',
        ours: f0(ms.fxpipeHelp),
        peer: f0(ms.node),
        ratio: (ms.fxpipeHelp / ms.node).toFixed(1),
      },
    ],
  };
}
