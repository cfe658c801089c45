import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, expect } from 'vitest';
import { cutoffDay } from '../../src/tiers/age.js';
import { lastDay } from '../../src/calendar/months.js';
import type { Db } from '../../src/warehouse/db.js';
import { upsertCurrencies, upsertSource } from '../../src/warehouse/dimensions.js';
import { initWarehouse } from '../../src/warehouse/init.js';
import { ensurePartitions } from '../../src/warehouse/partitions.js';
import { deriveYear, fixtureText, readEcbFile } from '../backfill/support.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { scratchDir, type TestDatabase } from '../helpers/database.js';
import { loadedOnce } from '../helpers/loaded-once.js';

/**
 * Five years of ECB-fixture-derived history, 2022 to this year, newest first under the fixture's header.
 * The backfill stops at today, so the latest months stay hot whatever --older-than says.
 */
export function multiYearCsv(now = new Date()): string {
  const file = readEcbFile(fixtureText());
  const thisYear = now.getUTCFullYear();
  const years = [];
  for (let year = thisYear; year >= 2022; year--) {
    years.push(...(year === 2024 ? file.lines : deriveYear(year, { scale: 1 + (year - 2024) / 50 })));
  }
  return [file.header, ...years].join('\n') + '\n';
}

export interface Warehouse {
  database: TestDatabase;
  db: Db;
  home: string;
  env: Record<string, string>;
  cli: (args: string[], extraEnv?: Record<string, string>) => Promise<CliResult>;
}

/**
 * A migrated test database loaded with multiYearCsv (every observation kept) by `fxpipe backfill`, and a CLI bound to
 * it. The load runs once a day per suite run; each file gets a clone of it (test/helpers/loaded-once.ts).
 */
export async function loadedWarehouse(dir: string): Promise<Warehouse> {
  const today = new Date().toISOString().slice(0, 10);
  const { database } = await loadedOnce(`multiyear_${today.replaceAll('-', '')}`, async (building) => {
    const home = mkdtempSync(path.join(dir, 'load-'));
    const csv = path.join(home, 'history.csv');
    writeFileSync(csv, multiYearCsv());
    const loaded = await runCli(
      ['backfill', '--source', 'ecb-csv', '--file', csv, '--from', '2022-01-01', '--to', today, '--change-threshold', '0', '--json'],
      {
        env: { DATABASE_URL: building.url, FXPIPE_HOME: home, TMPDIR: home },
        timeoutMs: 180_000,
      },
    );
    expect(loaded.stderr).toBe('');
    expect(loaded.code).toBe(0);
    rmSync(home, { recursive: true, force: true });
  });
  const db = await database.open();
  await initWarehouse(db);
  const home = mkdtempSync(path.join(dir, 'home-'));
  // The file the load read, where tests that load part of it again find it.
  writeFileSync(path.join(home, 'history.csv'), multiYearCsv());
  // TMPDIR inside the scratch directory: the temp files of archives the tests kill go with it.
  const env = { DATABASE_URL: database.url, FXPIPE_HOME: home, TMPDIR: home };
  const cli = (args: string[], extraEnv: Record<string, string> = {}) => runCli(args, { env: { ...env, ...extraEnv }, timeoutMs: 180_000 });
  return { database, db, home, env, cli };
}

/**
 * A migrated warehouse holding USD/EUR, USD/JPY and USD/GBP from one source ('ecb') every day of 2023 from January
 * through `through`, flagged on the 13th, written with SQL as a load bypassing validation would. CHF is registered
 * for the tests' own rows.
 */
export async function dailyWarehouse(
  database: TestDatabase,
  through: string,
): Promise<{ db: Db; ids: Map<string, number>; source: number }> {
  const db = await database.open();
  await initWarehouse(db);
  const ids = await upsertCurrencies(db, ['USD', 'EUR', 'JPY', 'GBP', 'CHF']);
  const source = await upsertSource(db, 'ecb', 'reference', 'https://example.invalid/ecb');
  await ensurePartitions(db, '2023-01-01', through);
  await db.query(
    `insert into fact_rates_history (date_key, base_currency_id, quote_currency_id, source_id, rate_timestamp, rate, previous_rate, change_pct, flags)
     select to_char(d, 'YYYYMMDD')::int, $1, q.id, $2, d + interval '14 hours 15 minutes', round(q.level * (1 + extract(doy from d) / 1000), 6),
            case when d > '2023-01-01' then round(q.level * (1 + (extract(doy from d) - 1) / 1000), 6) end,
            case when d > '2023-01-01' then round(100.0 / (1000 + extract(doy from d) - 1), 8) end,
            case when extract(day from d) = 13 then array['zscore', 'reference_deviation'] else '{}' end
       from generate_series('2023-01-01'::timestamptz, $6::timestamptz, interval '1 day') d
      cross join (values ($3::smallint, 0.92::numeric), ($4::smallint, 131.5), ($5::smallint, 0.81)) q(id, level)`,
    [ids.get('USD'), source, ids.get('EUR'), ids.get('JPY'), ids.get('GBP'), through],
  );
  return { db, ids, source };
}

export interface ArchiveFixture {
  /** The scratch directory; removed after the suite. */
  readonly dir: string;
  /** The --older-than 90d cutoff day as of the suite's start. */
  readonly cutoff: string;
  /** Set by beforeAll. */
  w: Warehouse;
  /** Partition counts, full rows and invariant answers before any archiving; set by beforeAll. */
  before: { counts: Map<string, number>; rows: string[]; answers: string[] };
  /** The loaded months whose last day falls before the cutoff. */
  oldMonths(): string[];
}

/** Registers the suite's hooks: a loadedWarehouse in a scratch directory and its state before archiving. */
export function archiveFixture(prefix: string): ArchiveFixture {
  const f = {
    dir: scratchDir(prefix),
    cutoff: cutoffDay('90d', new Date()),
    oldMonths: () => [...f.before.counts.keys()].filter((month) => lastDay(month) < f.cutoff),
  } as ArchiveFixture;
  beforeAll(async () => {
    f.w = await loadedWarehouse(f.dir);
    f.before = { counts: await partitionCounts(f.w.db), rows: await fullRows(f.w.db), answers: await invariantAnswers(f.w.cli) };
  }, 300_000);
  afterAll(async () => {
    await f.w?.database.drop();
    rmSync(f.dir, { recursive: true, force: true });
  });
  return f;
}

/** Every history row, every column, as text, in key order: ids and codes, rates exactly as stored. */
export async function fullRows(db: Db, where = 'true', params: readonly unknown[] = []): Promise<string[]> {
  const rows = await db.query<{ line: string }>(
    `select concat_ws(' | ', h.date_key, h.base_currency_id, h.quote_currency_id, h.source_id, h.rate_timestamp::text, h.rate::text,
                      coalesce(h.previous_rate::text, '-'), coalesce(h.change_pct::text, '-'), h.flags::text,
                      coalesce(h.extraction_id::text, '-'), coalesce(h.run_id::text, '-'), h.loaded_at::text, h.change_id) as line
       from fact_rates_history h where ${where}
      order by h.base_currency_id, h.quote_currency_id, h.source_id, h.date_key, h.rate_timestamp`,
    params,
  );
  return rows.map((r) => r.line);
}

/** Monthly partitions with their exact row counts, by month YYYY-MM. */
export async function partitionCounts(db: Db): Promise<Map<string, number>> {
  const rows = await db.query<{ name: string }>(
    `select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = 'fact_rates_history'::regclass and c.relname ~ '^fact_rates_history_y\\d{4}m\\d{2}$' order by 1`,
  );
  const counts = new Map<string, number>();
  for (const { name } of rows) {
    const [row] = await db.query<{ n: number }>(`select count(*)::int as n from ${name}`);
    counts.set(`${name.slice(20, 24)}-${name.slice(25, 27)}`, row?.n ?? 0);
  }
  return counts;
}

/** The queries whose answers must not change when months move between tiers. */
export const INVARIANT_QUERIES = [
  'select count(*) as n, sum(rate) as total, min(date) as first, max(date) as last from rates_history',
  `select base, quote, source, date, count(*) as n, min(rate) as low, max(rate) as high, avg(rate) as average,
          arg_min(rate, rate_timestamp) as open, arg_max(rate, rate_timestamp) as close
     from rates_history where quote in ('EUR', 'JPY', 'GBP') group by all order by all`,
  `select date, rate, previous_rate, change_pct, flags, change_id from rates_history
    where base = 'USD' and quote = 'JPY' and date in (date '2022-03-15', date '2023-07-03', date '2024-12-31') order by date`,
  `select year(date) as year, quote, count(*) as n, sum(rate) as total from rates_history group by all order by all`,
  `select d.year, d.quarter, count(*) as n from rates_history r join dates d using (date_key) join currencies c on c.code = r.quote
    where c.is_active group by all order by all`,
];

/** Each invariant query's JSON answer through `fxpipe query`. */
export async function invariantAnswers(cli: Warehouse['cli']): Promise<string[]> {
  const answers: string[] = [];
  for (const sql of INVARIANT_QUERIES) {
    const result = await cli(['query', sql, '--format', 'json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    answers.push(result.stdout);
  }
  return answers;
}

/**
 * A test-only pause inside the archive: a trigger on archive_manifest (test-created) waits on an advisory
 * lock this session holds, at the statement given by `when`. waitForPause returns the paused backend's pid.
 */
export async function pauseOnManifest(
  url: string,
  timing: 'before insert' | 'before update',
  when: string,
): Promise<{
  waitForPause(): Promise<number>;
  terminate(pid: number): Promise<void>;
  release(): Promise<void>;
  remove(): Promise<void>;
}> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`create or replace function test_pause() returns trigger language plpgsql as $$
                      begin perform pg_advisory_lock(4242); perform pg_advisory_unlock(4242); return new; end $$`);
  await client.query(`create trigger test_pause ${timing} on archive_manifest for each row when (${when}) execute function test_pause()`);
  await client.query('select pg_advisory_lock(4242)');
  return {
    async waitForPause() {
      for (let i = 0; i < 1200; i++) {
        const { rows } = await client.query<{ pid: number }>(
          `select pid from pg_stat_activity where datname = current_database() and wait_event = 'advisory' and pid <> pg_backend_pid()`,
        );
        if (rows[0]) return rows[0].pid;
        await sleep(50);
      }
      throw new Error('the archive never reached the pause');
    },
    /** The backend of a killed process: ends it the way a dropped connection does (its transaction rolls back). */
    async terminate(pid) {
      await client.query('select pg_terminate_backend($1)', [pid]);
      for (let i = 0; i < 200; i++) {
        const { rows } = await client.query('select 1 from pg_stat_activity where pid = $1', [pid]);
        if (rows.length === 0) return;
        await sleep(25);
      }
      throw new Error(`backend ${pid} did not end`);
    },
    /** Lets the paused statement (and any later one) go on; the trigger stays until remove(). */
    async release() {
      await client.query('select pg_advisory_unlock_all()');
    },
    async remove() {
      // Unlocked first: a statement still paused holds archive_manifest, which dropping the trigger waits for.
      await client.query('select pg_advisory_unlock_all()');
      await client.query('drop trigger test_pause on archive_manifest');
      await client.end();
    },
  };
}

/** s3rver's built-in account. */
export const S3_BUCKET = 'fxpipe-test';

/**
 * s3rver in a child process on 127.0.0.1 (with --openssl-legacy-provider: it signs list continuation tokens with DES),
 * exiting when its stdin closes. env: what a CLI child needs to reach it.
 */
export async function startS3rver(directory: string): Promise<{ env: Record<string, string>; stop(): Promise<void> }> {
  const script = `
    const S3rver = require('s3rver');
    const [directory, bucket] = process.argv.slice(1);
    const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket }] });
    server.run().then((address) => process.stdout.write(JSON.stringify({ port: address.port }) + '\\n'));
    const stop = () => server.close().finally(() => process.exit(0));
    process.stdin.on('end', stop).resume();
    process.on('SIGTERM', stop);`;
  const child: ChildProcess = spawn(process.execPath, ['--openssl-legacy-provider', '-e', script, directory, S3_BUCKET], {
    cwd: path.resolve(import.meta.dirname, '../..'),
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve((JSON.parse(out.split('\n')[0]!) as { port: number }).port);
    });
    child.once('exit', (code) => reject(new Error(`s3rver exited with code ${code}`)));
  });
  return {
    env: {
      AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_EC2_METADATA_DISABLED: 'true',
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}
