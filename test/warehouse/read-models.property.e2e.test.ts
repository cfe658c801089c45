import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { ecbPublicationTime } from '../../src/calendar/ecb.js';
import { archiveHistory } from '../../src/tiers/archive.js';
import { openObjectStore } from '../../src/tiers/open-store.js';
import { ensureDates } from '../../src/warehouse/calendar.js';
import type { Db } from '../../src/warehouse/db.js';
import { upsertCurrencies, upsertSource } from '../../src/warehouse/dimensions.js';
import type { DirectDb } from '../../src/warehouse/direct.js';
import { initWarehouse } from '../../src/warehouse/init.js';
import { migrate, migrationFiles } from '../../src/warehouse/migrations.js';
import { ensurePartitions } from '../../src/warehouse/partitions.js';
import { rebuildDays } from '../../src/warehouse/publications.js';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, scratchDir, type TestDatabase } from '../helpers/database.js';
import {
  derivedPublications,
  historyKeys,
  insertPreviousRows,
  insertPreviousSource,
  previousRows,
  type PreviousRows,
} from './previous-version.js';
import { dailyMismatches, monthlyMismatches } from './read-models-compare.js';
import { applyChangeRule, closeEnough, D, dailyRows, monthlyRows, type OraclePublication } from './read-models-oracle.js';
import { WarehouseModel } from './read-models-model.js';
import { loadAsRun, runStep, type Harness } from './read-models-steps.js';
import {
  DAY_MS,
  ecbCsv,
  MAX_RATE_AGE_MS,
  MAX_RATE_AGE_SQL,
  probesArb,
  QUOTES,
  SOURCES,
  stepArb,
  warmUpArb,
  WINDOW_FROM,
  WINDOW_TO,
  worldArb,
  type SourceKey,
  type Step,
  type World,
  type WorldPublication,
} from './read-models-world.js';

/**
 * Deterministic in CI. FC_SEED replays another seed and FC_PATH one counterexample of it (fast-check prints both),
 * FC_RUNS runs more, FC_NO_SHRINK=1 reports the first failure as found.
 */
const SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : 1306;
const RUNS = process.env.FC_RUNS ? Number(process.env.FC_RUNS) : 15;
const PATH = process.env.FC_PATH;
const NO_SHRINK = process.env.FC_NO_SHRINK === '1';
const settings = (numRuns: number): fc.Parameters<unknown> => ({
  seed: SEED,
  numRuns,
  endOnFailure: NO_SHRINK,
  interruptAfterTimeLimit: 120_000,
  ...(PATH ? { path: PATH } : {}),
});

/**
 * The warehouse as a new one for the next run: facts, publications, read models, bronze, runs, chunks and manifest
 * emptied, the history's partitions of the window dropped (dimensions and settings stay). Far cheaper than a database
 * per run.
 */
async function resetWarehouse(db: Db): Promise<void> {
  await db.query(`truncate archive_manifest, backfill_chunks, bronze_extraction, fact_rates_current, fact_rates_history,
                           pipeline_runs, rates_daily, rates_monthly, rejected_rates, source_publications cascade`);
  await db.query(`do $$
    declare t text;
    begin
      for t in select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
                where n.nspname = 'public' and c.relkind in ('r', 'p') and c.relname like 'fact!_rates!_history!_y2024%' escape '!' loop
        execute format('drop table %I', t);
      end loop;
    end $$`);
}

async function openHarness(db: DirectDb, world: World): Promise<Harness & { close(): void }> {
  await resetWarehouse(db);
  const dir = scratchDir('fxpipe-read-models-');
  const csvPath = path.join(dir, 'eurofxref-hist.csv');
  writeFileSync(csvPath, ecbCsv(world));
  return {
    db,
    world,
    model: new WarehouseModel(),
    sourceIds: await sourceIds(db),
    csvPath,
    archiveDir: path.join(dir, 'archive'),
    log: createLogger('silent'),
    close: () => rmSync(dir, { recursive: true, force: true }),
  };
}

async function sourceIds(db: Db): Promise<Record<SourceKey, number>> {
  const rows = await db.query<{ source_name: SourceKey; source_id: number }>('select source_name, source_id from dim_source');
  return Object.fromEntries(rows.map((s) => [s.source_name, s.source_id])) as Record<SourceKey, number>;
}

async function readModelMismatches(
  db: Db,
  expected: (source: SourceKey) => { pubs: Iterable<OraclePublication>; history: Set<string> } | WarehouseModel,
  maxAgeMs = MAX_RATE_AGE_MS,
): Promise<string[]> {
  const out: string[] = [];
  for (const { name } of SOURCES) {
    const source = expected(name);
    const daily = source instanceof WarehouseModel ? source.expectedDaily(name) : dailyRows(source.pubs, maxAgeMs, source.history);
    out.push(...(await dailyMismatches(db, name, daily)));
    out.push(...(await monthlyMismatches(db, name, monthlyRows(daily.values()))));
  }
  return out;
}

/** The instants probed: a position in the window, a loaded publication's as-of, and the last instant it is in force. */
function probeInstants(model: WarehouseModel, positions: number[]): number[] {
  const loaded = SOURCES.flatMap(({ name }) => [...model.pubs[name].keys()]).sort((a, b) => a - b);
  return positions.flatMap((p) => {
    const at = Math.round((WINDOW_FROM + p * (WINDOW_TO - WINDOW_FROM)) / 1000) * 1000;
    const pub = loaded[Math.floor(p * loaded.length)];
    return pub === undefined ? [at] : [at, pub, pub + MAX_RATE_AGE_MS];
  });
}

async function answer<T extends Record<string, unknown>>(db: Db, sql: string, params: unknown[]): Promise<T | 'P0002'> {
  try {
    const [row] = await db.query<T>(sql, params);
    return row!;
  } catch (error) {
    if ((error as { code?: string }).code === 'P0002') return 'P0002';
    throw error;
  }
}

/**
 * api.usd_rate of every currency and api.convert EUR→JPY at the probed instants, against the rates in force by
 * definition (instants answered from an archived month's publication are left out: those read the archive's rows).
 */
async function apiMismatches(db: Db, model: WarehouseModel, positions: number[]): Promise<string[]> {
  const out: string[] = [];
  for (const at of probeInstants(model, positions)) {
    if (model.answersFromArchive(at)) continue;
    const when = new Date(at).toISOString();
    for (const quote of QUOTES) {
      const got = await answer<{ rate: string; as_of: Date; source: string }>(
        db,
        'select rate::text, as_of, source from api.usd_rate($1, $2)',
        [quote, new Date(at)],
      );
      const want = model.usdRate(quote, at);
      if (want === null || got === 'P0002') {
        if (want !== null || got !== 'P0002')
          out.push(`api.usd_rate(${quote}, ${when}): ${JSON.stringify(got)}, expected ${JSON.stringify(want) ?? 'P0002'}`);
      } else if (!new D(got.rate).eq(new D(want.rate)) || got.as_of.getTime() !== want.asOf || got.source !== want.source) {
        out.push(
          `api.usd_rate(${quote}, ${when}): ${got.rate} of ${got.as_of.toISOString()} (${got.source}), expected ${want.rate} of ${new Date(want.asOf).toISOString()} (${want.source})`,
        );
      }
    }
    const got = await answer<{ rate: string; from_source: string; to_source: string }>(
      db,
      `select rate::text, from_source, to_source from api.convert(1, 'EUR', 'JPY', $1)`,
      [new Date(at)],
    );
    const want = expectedConvert(model, 'EUR', 'JPY', at);
    if (want === null || got === 'P0002') {
      if (want !== null || got !== 'P0002')
        out.push(`api.convert(1, EUR, JPY, ${when}): ${JSON.stringify(got)}, expected ${want ? want.rate.toFixed() : 'P0002'}`);
    } else if (!closeEnough(new D(got.rate), want.rate) || got.from_source !== want.from || got.to_source !== want.to) {
      out.push(
        `api.convert(1, EUR, JPY, ${when}): ${got.rate} (${got.from_source}/${got.to_source}), expected ${want.rate.toFixed()} (${want.from}/${want.to})`,
      );
    }
  }
  return out;
}

/** Both legs from the best ranked source that has both in force, else each from its own best ranked source. */
function expectedConvert(model: WarehouseModel, from: string, to: string, at: number): { rate: D; from: string; to: string } | null {
  for (const { name } of SOURCES) {
    const f = model.usdRateFrom(name, from, at);
    const t = model.usdRateFrom(name, to, at);
    if (f && t) return { rate: new D(t).div(f), from: name, to: name };
  }
  const f = model.usdRate(from, at);
  const t = model.usdRate(to, at);
  return f && t ? { rate: new D(t.rate).div(f.rate), from: f.source, to: t.source } : null;
}

const listed = (done: string[]) => done.map((d, i) => `\n  ${i + 1}. ${d}`).join('');

describe('rates_daily and rates_monthly, maintained by every writer, equal a recompute from the publications loaded', () => {
  let database: TestDatabase;
  let db: DirectDb;

  beforeAll(async () => {
    database = await createTestDatabase('fxrm');
    db = await database.open();
    await initWarehouse(db);
    await db.query(`update fxpipe_settings set max_rate_age = $1::interval`, [MAX_RATE_AGE_SQL]);
    for (const { name, rank } of SOURCES) await upsertSource(db, name, rank, `http://127.0.0.1:9/${name}`);
    await upsertCurrencies(db, ['USD', ...QUOTES]);
  });

  afterAll(async () => {
    await database?.drop();
  });

  it('after every step of random runs (in and out of order), ECB backfills, reprocesses, archives and restores', async () => {
    await fc.assert(
      fc.asyncProperty(
        worldArb(ecbPublicationTime),
        warmUpArb,
        fc.array(fc.tuple(stepArb, probesArb), { minLength: 4, maxLength: 10 }),
        probesArb,
        async (world, warmUp, random, warmUpProbes) => {
          const steps: [Step, number[]][] = [...warmUp.map((step): [Step, number[]] => [step, warmUpProbes]), ...random];
          const h = await openHarness(db, world);
          const done: string[] = [];
          try {
            for (const [step, probes] of steps) {
              done.push(
                await runStep(h, step).catch((error: unknown) => {
                  throw new Error(`${step.kind} failed after ${listed(done)}\n${String(error)}`, { cause: error });
                }),
              );
              const mismatches = [...(await readModelMismatches(h.db, () => h.model)), ...(await apiMismatches(h.db, h.model, probes))];
              if (mismatches.length > 0)
                throw new Error(`after ${listed(done)}\n${mismatches.length} mismatches:\n${mismatches.slice(0, 20).join('\n')}`);
            }
          } finally {
            h.close();
          }
        },
      ),
      settings(RUNS),
    );
  }, 300_000);

  describe('a publication whose stretch leaves an archived month', () => {
    beforeEach(async () => {
      await resetWarehouse(db);
    });

    it("carries its own value into the next month's days, not the value before it", async () => {
      const dir = scratchDir('fxpipe-read-models-');
      try {
        const pub = (iso: string, eur: string): WorldPublication => ({
          source: 'open-er-api',
          asOf: Date.parse(iso),
          values: new Map([['EUR', eur]]),
        });
        const ids = await sourceIds(db);
        await loadAsRun(db, ids['open-er-api'], pub('2024-02-27T10:00:00Z', '0.9'));
        await loadAsRun(db, ids['open-er-api'], pub('2024-02-29T20:00:00Z', '0.92'));
        const archived = await archiveHistory(db, {
          store: openObjectStore(path.join(dir, 'archive')),
          cutoff: '2024-03-01',
          dryRun: false,
          lockWaitMs: 10_000,
          log: createLogger('silent'),
        });
        expect(archived.months.map((m) => [m.month, m.outcome])).toEqual([['2024-02', 'archived']]);
        await loadAsRun(db, ids['open-er-api'], pub('2024-03-04T10:00:00Z', '0.92'));

        // In force from 2024-02-29 20:00 for the maximum age of 2 days: all of 1 March, 2 March until 20:00.
        const days = await db.query<{ date_key: number; open: string; close: string; close_as_of: Date; in_force_to: Date }>(
          `select d.date_key, d.open::text, d.close::text, d.close_as_of, d.in_force_to
             from rates_daily d join dim_currency q on q.currency_id = d.quote_currency_id
            where q.currency_code = 'EUR' and d.source_id = $1 and d.date_key between 20240301 and 20240303 order by d.date_key`,
          [ids['open-er-api']],
        );
        const expected = [
          {
            date_key: 20240301,
            open: '0.92',
            close: '0.92',
            close_as_of: new Date('2024-02-29T20:00:00Z'),
            in_force_to: new Date('2024-03-02T00:00:00Z'),
          },
          {
            date_key: 20240302,
            open: '0.92',
            close: '0.92',
            close_as_of: new Date('2024-02-29T20:00:00Z'),
            in_force_to: new Date('2024-03-02T20:00:00Z'),
          },
        ];
        expect(days).toEqual(expected);

        // Rebuilt over two months (28 days or more: the history read in one scan, not looked up per stretch), from the
        // archived month on: the same days.
        const usd = (await db.query<{ id: number }>(`select currency_id as id from dim_currency where currency_code = 'USD'`))[0]!.id;
        await rebuildDays(db, { sourceId: ids['open-er-api'], baseId: usd, from: '2024-02-01', to: '2024-03-31' });
        expect(
          await db.query(
            `select d.date_key, d.open::text, d.close::text, d.close_as_of, d.in_force_to
             from rates_daily d join dim_currency q on q.currency_id = d.quote_currency_id
            where q.currency_code = 'EUR' and d.source_id = $1 and d.date_key between 20240301 and 20240303 order by d.date_key`,
            [ids['open-er-api']],
          ),
        ).toEqual(expected);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('a pair that loses every day of a month', () => {
    beforeEach(async () => {
      await resetWarehouse(db);
    });

    it('has no row of that month left, once a publication loaded out of order ends its stretch before it', async () => {
      const pub = (iso: string, values: [string, string][]): WorldPublication => ({
        source: 'open-er-api',
        asOf: Date.parse(iso),
        values: new Map(values),
      });
      const ids = await sourceIds(db);
      const eurRows = async () => ({
        days: (
          await db.query<{ date_key: number }>(
            `select d.date_key from rates_daily d join dim_currency q on q.currency_id = d.quote_currency_id
            where q.currency_code = 'EUR' and d.source_id = $1 and d.date_key >= 20240301 order by d.date_key`,
            [ids['open-er-api']],
          )
        ).map((r) => r.date_key),
        months: (
          await db.query<{ month_key: number }>(
            `select m.month_key from rates_monthly m join dim_currency q on q.currency_id = m.quote_currency_id
            where q.currency_code = 'EUR' and m.source_id = $1 order by m.month_key`,
            [ids['open-er-api']],
          )
        ).map((r) => r.month_key),
      });
      await loadAsRun(
        db,
        ids['open-er-api'],
        pub('2024-02-29T20:00:00Z', [
          ['EUR', '0.92'],
          ['JPY', '150.1'],
        ]),
      );
      await loadAsRun(db, ids['open-er-api'], pub('2024-03-04T10:00:00Z', [['JPY', '150.2']]));
      // EUR in force from 2024-02-29 20:00 for the maximum age of 2 days: 1 and 2 March.
      expect(await eurRows()).toEqual({ days: [20240301, 20240302], months: [202402, 202403] });

      // Loaded late: the publication of 22:00 did not carry EUR, which is retired from then on, March included.
      await loadAsRun(db, ids['open-er-api'], pub('2024-02-29T22:00:00Z', [['JPY', '150.1']]));
      expect(await eurRows()).toEqual({ days: [], months: [202402] });
    });
  });
});

describe('a warehouse of the previous version converts in place', () => {
  /** Migration 0012 computes the read models with the default maximum age. */
  const DEFAULT_MAX_RATE_AGE_MS = 7 * DAY_MS;

  it('fxpipe db init drops the materialized views, derives the publications and computes the read models they define; the next load keeps them so', async () => {
    await fc.assert(
      fc.asyncProperty(worldArb(ecbPublicationTime), fc.integer({ min: 20, max: 80 }), async (world, splitDay) => {
        const split = WINDOW_FROM + splitDay * DAY_MS;
        const database = await createTestDatabase('fxrm_previous', { empty: true });
        try {
          const previous = await database.open();
          await migrate(
            previous,
            migrationFiles().filter((file) => file.name < '0012'),
          );
          await ensureDates(previous, '2024-01-01', '2024-12-31');
          await ensurePartitions(previous, '2024-02-01', '2024-04-30');
          const ids = await upsertCurrencies(previous, ['USD', ...QUOTES]);
          const rows = new Map<SourceKey, PreviousRows>();
          for (const { name, rank } of SOURCES) {
            const sourceId = await insertPreviousSource(previous, name, rank, `http://127.0.0.1:9/${name}`);
            const loaded = (name === 'ecb' ? world.ecb : world.openErApi).filter((pub) => pub.asOf < split);
            rows.set(name, previousRows(loaded));
            await insertPreviousRows(previous, sourceId, ids, rows.get(name)!);
          }
          for (const view of ['vw_rates_latest', 'vw_rates_daily_agg', 'vw_rates_monthly_agg', 'vw_rates_comparison']) {
            await previous.query(`refresh materialized view ${view}`);
          }
          await previous.close();

          const init = await runCli(['db', 'init', '--json'], { env: { DATABASE_URL: database.url } });
          expect(init.stderr).toBe('');
          expect(init.code).toBe(0);

          const db = await database.open();
          expect(await db.query(`select matviewname from pg_matviews where schemaname = 'public'`)).toEqual([]);
          const kinds = await db.query<{ table_name: string; table_type: string }>(
            `select table_name, table_type from information_schema.tables
              where table_schema = 'public' and table_name in ('vw_rates_latest', 'vw_rates_comparison', 'vw_rates_daily_agg', 'vw_rates_monthly_agg', 'rates_daily', 'rates_monthly')
              order by table_name`,
          );
          expect(kinds.map((k) => [k.table_name, k.table_type])).toEqual([
            ['rates_daily', 'BASE TABLE'],
            ['rates_monthly', 'BASE TABLE'],
            ['vw_rates_comparison', 'VIEW'],
            ['vw_rates_daily_agg', 'VIEW'],
            ['vw_rates_latest', 'VIEW'],
            ['vw_rates_monthly_agg', 'VIEW'],
          ]);

          const expected = new Map(
            SOURCES.map(({ name }) => [name, { pubs: derivedPublications(rows.get(name)!), history: historyKeys(rows.get(name)!) }]),
          );
          const publications = await db.query<{ source: string; line: string }>(
            `select s.source_name as source,
                    to_char(p.as_of at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS') || ' ' ||
                      array_to_string(array(select c.currency_code from unnest(p.quote_ids) i join dim_currency c on c.currency_id = i order by 1), ',') as line
               from source_publications p join dim_source s using (source_id)
              order by 1, 2`,
          );
          for (const { name } of SOURCES) {
            const want = expected
              .get(name)!
              .pubs.map((p) => `${new Date(p.asOf).toISOString().slice(0, 19)} ${[...p.values.keys()].sort().join(',')}`);
            expect(
              publications.filter((p) => p.source === name).map((p) => p.line),
              name,
            ).toEqual(want);
          }
          expect(await readModelMismatches(db, (name) => expected.get(name)!, DEFAULT_MAX_RATE_AGE_MS)).toEqual([]);

          // One more publication, loaded by the new code.
          const next = world.openErApi.find((pub) => pub.asOf >= split);
          if (!next) return;
          await loadAsRun(db, (await sourceIds(db))['open-er-api'], next);
          const source = expected.get('open-er-api')!;
          const added: OraclePublication = { asOf: next.asOf, values: next.values };
          source.pubs.push(added);
          applyChangeRule(source.pubs, added, DEFAULT_MAX_RATE_AGE_MS, source.history);
          expect(await readModelMismatches(db, (name) => expected.get(name)!, DEFAULT_MAX_RATE_AGE_MS)).toEqual([]);
        } finally {
          await database.drop();
        }
      }),
      settings(2),
    );
  }, 300_000);
});
