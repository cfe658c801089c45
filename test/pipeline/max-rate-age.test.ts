import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createMarket } from '../../src/demo/market.js';
import { startProviderServer, type ProviderServer } from '../../src/demo/provider-server.js';
import type { Db } from '../../src/warehouse/db.js';
import { initWarehouse } from '../../src/warehouse/init.js';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, scratchDir, type TestDatabase } from '../helpers/database.js';

const DAY_MS = 86_400_000;
const ECB_2024 = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/eurofxref-hist-2024.csv');

const maxRateAge = async (db: Db) => (await db.query<{ age: string }>('select max_rate_age::text as age from fxpipe_settings'))[0]!.age;

describe('FXPIPE_MAX_RATE_AGE', () => {
  it('reads whole days, hours or minutes, 7 days by default; anything else is one line naming it, exit 2', async () => {
    const ms = (value?: string) => loadConfig({ env: value === undefined ? {} : { FXPIPE_MAX_RATE_AGE: value }, cwd: scratchDir() }).maxRateAge;
    expect([ms(), ms('7d'), ms('36h'), ms('90m'), ms('7 days'), ms('1 hour')]).toEqual([7 * DAY_MS, 7 * DAY_MS, 36 * 3_600_000, 90 * 60_000, 7 * DAY_MS, 3_600_000]);
    for (const bad of ['7', '7 weeks', '1.5d', '0m', '3651d', '7D']) {
      expect(() => ms(bad)).toThrow(`invalid setting FXPIPE_MAX_RATE_AGE: ${JSON.stringify(bad)} expected a duration of whole days, hours or minutes from 1m to 3650d, such as 7d, 36h, 90m or "7 days"`);
    }
    const result = await runCli(['run'], { env: { FXPIPE_MAX_RATE_AGE: '7 weeks', DATABASE_URL: 'postgres://fx:pw@127.0.0.1:1/fx' } });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('fxpipe: invalid setting FXPIPE_MAX_RATE_AGE: "7 weeks" expected a duration of whole days, hours or minutes from 1m to 3650d, such as 7d, 36h, 90m or "7 days"\n');
  });

  describe('written into the warehouse by every loading command and db init', () => {
    let database: TestDatabase;
    let db: Db;
    let server: ProviderServer;
    let env: Record<string, string>;

    beforeAll(async () => {
      database = await createTestDatabase();
      db = await database.open();
      await initWarehouse(db);
      // The providers live 3 days in the past: every rate a run loads is more than 3 days old.
      const clock = () => new Date(Date.now() - 3 * DAY_MS);
      server = await startProviderServer({ market: createMarket({ seed: 5, start: new Date(Date.now() - 6 * DAY_MS) }), clock });
      env = { ...server.env, DATABASE_URL: database.url, FXPIPE_HTTP_RETRIES: '0' };
    });
    afterAll(async () => {
      await server?.close();
      await db?.close();
      await database?.drop();
    });

    const statuses = async () =>
      (await db.query<{ status: string }>(`select distinct status from api.latest_rates where source = 'open-er-api' order by 1`)).map((r) => r.status);

    it('run: 1d makes a rate 3 days old stale; db init writes the default back and it is current again; reprocess writes its own', async () => {
      const run = await runCli(['run', '--json'], { env: { ...env, FXPIPE_MAX_RATE_AGE: '1d' } });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout).status).toBe('loaded');
      expect(await maxRateAge(db)).toBe('1 day');
      expect(await statuses()).toEqual(['stale']);
      await expect(db.query(`select * from api.convert(1, 'USD', 'EUR')`)).rejects.toThrow(/^no rate for EUR in force now: its last value is from /);

      const init = await runCli(['db', 'init'], { env: { DATABASE_URL: database.url } });
      expect(init.code).toBe(0);
      expect(await maxRateAge(db)).toBe('7 days');
      expect(await statuses()).toEqual(['current']);

      const reprocess = await runCli(['reprocess', '--json'], { env: { DATABASE_URL: database.url, FXPIPE_MAX_RATE_AGE: '36h' } });
      expect(reprocess.stderr).toBe('');
      expect(reprocess.code).toBe(0);
      expect(await maxRateAge(db)).toBe('1 day 12:00:00');
      expect(await statuses()).toEqual(['stale']);
    });

    it('backfill: with 1d the ECB\'s Friday rates are not in force on Sunday (no daily row); with the default they carry over', async () => {
      const sundayRows = async (target: TestDatabase, age: string | undefined) => {
        const result = await runCli(['backfill', '--source', 'ecb-csv', '--file', ECB_2024, '--from', '2024-12-02', '--to', '2024-12-13', '--json'],
          { env: { DATABASE_URL: target.url, ...(age ? { FXPIPE_MAX_RATE_AGE: age } : {}) }, timeoutMs: 120_000 });
        expect(result.stderr).toBe('');
        expect(result.code).toBe(0);
        const conn = await target.open();
        try {
          const [row] = await conn.query<{ n: number; age: string }>(
            `select (select count(*)::int from api.daily_rates where date = '2024-12-08' and source = 'ecb') as n,
                    (select max_rate_age::text from fxpipe_settings) as age`);
          return row!;
        } finally {
          await conn.close();
        }
      };
      const other = await createTestDatabase();
      try {
        expect(await sundayRows(database, '1d')).toEqual({ n: 0, age: '1 day' });
        const byDefault = await sundayRows(other, undefined);
        expect(byDefault.age).toBe('7 days');
        expect(byDefault.n).toBeGreaterThan(25);
      } finally {
        await other.drop();
      }
    });
  });
});
