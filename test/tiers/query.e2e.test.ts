import { mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../src/warehouse/db.js';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, scratchDir, type TestDatabase } from '../helpers/database.js';
import { dailyWarehouse } from './support.js';

/** Rates at the edges of what DECIMAL(38,24) holds exactly, and ordinary ones, with the text PostgreSQL stores. */
const EDGE_RATES = ['0.000000000000000000000001', '99999999999999.999999999999999999999999', '1.10', '157.123456789012345678', '7'];

interface Fixture {
  database: TestDatabase;
  db: Db;
  home: string;
  query(sql: string, format?: string): Promise<{ code: number | null; stdout: string; stderr: string }>;
  cli(args: string[]): ReturnType<typeof runCli>;
}

/** Three months of 2023 for USD/EUR, USD/JPY and USD/GBP from one source, every day, plus the edge rates on 2023-02-14. */
async function fixture(dir: string, extraRates: { dateKey: number; rate: string }[] = []): Promise<Fixture> {
  const database = await createTestDatabase();
  const { db, ids, source } = await dailyWarehouse(database, '2023-03-31');
  const edges = [
    ...EDGE_RATES.map((rate, i) => ({ dateKey: 20230214, rate, minute: i })),
    ...extraRates.map((r, i) => ({ ...r, minute: 30 + i })),
  ];
  for (const edge of edges) {
    const day = String(edge.dateKey);
    await db.query(
      `insert into fact_rates_history (date_key, base_currency_id, quote_currency_id, source_id, rate_timestamp, rate)
       values ($1, $2, $3, $4, $5::timestamptz, $6::numeric)`,
      [
        edge.dateKey,
        ids.get('USD'),
        ids.get('CHF'),
        source,
        `${day.slice(0, 4)}-${day.slice(4, 6)}-${day.slice(6)}T20:${String(edge.minute).padStart(2, '0')}:00.123456Z`,
        edge.rate,
      ],
    );
  }
  const home = mkdtempSync(path.join(dir, 'home-'));
  const env = { DATABASE_URL: database.url, FXPIPE_HOME: home };
  const cli = (args: string[]) => runCli(args, { env });
  return { database, db, home, cli, query: (sql, format = 'json') => cli(['query', sql, '--format', format]) };
}

describe('fxpipe query', () => {
  const dir = scratchDir('fxpipe-query-');
  const fixtures: Fixture[] = [];
  let f: Fixture;
  beforeAll(async () => {
    f = await fixture(dir);
    fixtures.push(f);
  });
  afterAll(async () => {
    for (const each of fixtures) await each.database.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const QUERIES = [
    'select count(*) as n, sum(rate) as total, count(distinct quote) as quotes from rates_history',
    `select quote, date_trunc('month', date) as month, count(*) as n, min(rate) as low, max(rate) as high, sum(change_pct) as moves
       from rates_history group by all order by all`,
    `select date, base, quote, source, rate_timestamp, rate, previous_rate, change_pct, flags from rates_history
      where quote = 'JPY' and date in ('2023-01-01', '2023-02-13', '2023-03-31') order by date`,
    `select rate, cast(rate as varchar) as text from rates_history where quote = 'CHF' order by rate_timestamp`,
    `select c.name is not null as named, s.rank, d.is_weekend, count(*) as n from rates_history r
       join currencies c on c.code = r.quote join sources s on s.source = r.source join dates d on d.date = r.date group by all order by all`,
  ];

  it('answers the same in every format before and after archiving, and matches PostgreSQL', async () => {
    const answers = async () => {
      const out: string[] = [];
      for (const sql of QUERIES) {
        for (const format of ['json', 'csv', 'table']) {
          const result = await f.query(sql, format);
          expect(result.stderr).toBe('');
          expect(result.code).toBe(0);
          out.push(result.stdout);
        }
      }
      return out;
    };
    const hot = await answers();
    const [pg] = await f.db.query<{ n: number; total: string }>(
      'select count(*)::int as n, trim_scale(sum(rate))::text as total from fact_rates_history',
    );
    expect(JSON.parse(hot[0]!)).toEqual([{ n: pg!.n, total: pg!.total, quotes: 4 }]);

    const archived = await f.cli(['archive', '--older-than', '90d', '--json']);
    expect(archived.stderr).toBe('');
    expect(archived.code).toBe(0);
    expect((JSON.parse(archived.stdout) as { months: { month: string }[] }).months.map((m) => m.month)).toEqual([
      '2023-01',
      '2023-02',
      '2023-03',
    ]);
    expect(await f.db.query('select 1 from fact_rates_history limit 1')).toEqual([]);
    expect(await answers()).toEqual(hot);
    const tiers = await f.query('select distinct tier from rates_history', 'csv');
    expect(tiers.stdout).toBe('tier\ncold\n');
  }, 180_000); // about 30 CLI processes, each starting DuckDB: 46 s in CI, too close to the 60 s default

  it('keeps rates exact: the smallest and largest DECIMAL(38,24) values and long decimals', async () => {
    const result = await f.query(
      `select cast(rate as varchar) as text, rate from rates_history where quote = 'CHF' order by rate_timestamp`,
    );
    const expected = EDGE_RATES.map((rate) => rate.replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, ''));
    const rows = JSON.parse(result.stdout) as { text: string; rate: string }[];
    expect(rows.map((r) => r.rate)).toEqual(expected);
    expect(rows[0]!.text).toBe('0.000000000000000000000001');
  });

  it('prints an aligned table, RFC 4180 CSV and one JSON array', async () => {
    const sql = `select quote, count(*) as n, list(distinct flag order by flag) as flags
                   from (select quote, unnest(flags) as flag from rates_history) group by quote order by quote`;
    expect((await f.query(sql, 'table')).stdout).toBe(
      'quote  n  flags\n' +
        'EUR    6  ["reference_deviation","zscore"]\n' +
        'GBP    6  ["reference_deviation","zscore"]\n' +
        'JPY    6  ["reference_deviation","zscore"]\n' +
        '(3 rows)\n',
    );
    expect((await f.query(sql, 'csv')).stdout.split('\n')[1]).toBe('EUR,6,"[""reference_deviation"",""zscore""]"');
    expect((JSON.parse((await f.query(sql, 'json')).stdout) as unknown[])[0]).toEqual({
      quote: 'EUR',
      n: 6,
      flags: ['reference_deviation', 'zscore'],
    });
  });

  it('bad SQL, an empty query or an unknown format exit 2 with one line', async () => {
    const bad = await f.query('select nope from rates_history');
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^fxpipe: query failed: Binder Error: .*nope/)]);
    const syntax = await f.query('selec 1');
    expect(syntax.code).toBe(2);
    expect(syntax.stderr).toMatch(/^fxpipe: query failed: Parser Error/);
    expect((await f.query('  ')).code).toBe(2);
    expect((await f.query('select 1', 'xml')).code).toBe(2);
  });

  it('a rate DECIMAL(38,24) cannot hold exactly keeps its month in PostgreSQL, nothing lost; the other months archive', async () => {
    const g = await fixture(dir, [{ dateKey: 20230110, rate: '1.1234567890123456789012345678' }]);
    fixtures.push(g);
    const before = await g.db.query(`select count(*)::int as n from fact_rates_history where date_key < 20230201`);
    const result = await g.cli(['archive', '--older-than', '90d']);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^fxpipe: warning: 2023-01 skipped, its \d+ rows stay in PostgreSQL: rate 1\.1234567890123456789012345678 of USD\/CHF .* does not fit the archive's DECIMAL\(38,24\) exactly/,
      ),
    ]);
    expect(await g.db.query(`select count(*)::int as n from fact_rates_history where date_key < 20230201`)).toEqual(before);
    expect(await g.db.query(`select to_char(month, 'YYYY-MM') as month, state from archive_manifest order by 1`)).toEqual([
      { month: '2023-02', state: 'archived' },
      { month: '2023-03', state: 'archived' },
    ]);
  });
});
