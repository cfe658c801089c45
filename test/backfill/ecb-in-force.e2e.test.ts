import { writeFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Decimal } from 'decimal.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ecbPublicationTime } from '../../src/calendar/ecb.js';
import type { Db } from '../../src/warehouse/db.js';
import { initWarehouse } from '../../src/warehouse/init.js';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, scratchDir, type TestDatabase } from '../helpers/database.js';
import { readEcbFile, threeYearCsv, type EcbFile } from './support.js';

const D = Decimal.clone({ precision: 50 });

/**
 * The fixture's three years (2022 and 2023 derived from 2024) with the histories of real retirements and pauses
 * written in: RUB published until 2022-03-01, CYP at its fixed 0.585274 for the first days of 2022 only, ISK paused
 * from 2023-02-01 to 2023-05-31, HRK published through 2022 only (as threeYearCsv has it).
 */
function historyWithRetirements(): string {
  const [header = '', ...lines] = threeYearCsv().trimEnd().split('\n');
  const codes = header.split(',').slice(1);
  const column = (code: string) => codes.indexOf(code) + 1;
  return (
    [
      header,
      ...lines.map((line) => {
        const cells = line.split(',');
        const day = cells[0]!;
        if (day <= '2022-03-01' && day.startsWith('2022')) cells[column('RUB')] = (118.5 + Number(day.slice(8)) / 10).toFixed(4);
        if (day <= '2022-01-10' && day.startsWith('2022')) cells[column('CYP')] = '0.585274';
        if (day >= '2023-02-01' && day <= '2023-05-31') cells[column('ISK')] = 'N/A';
        return cells.join(',');
      }),
    ].join('\n') + '\n'
  );
}

/** Published decimals of a value as the file writes it. */
const decimalsOf = (text: string) => text.split('.')[1]?.length ?? 0;

describe('the ECB history backfilled with default settings, checked against the file', () => {
  let database: TestDatabase;
  let db: Db;
  let file: EcbFile;
  const dir = scratchDir('fxpipe-in-force-');

  beforeAll(async () => {
    database = await createTestDatabase();
    db = await database.open();
    await initWarehouse(db);
    const text = historyWithRetirements();
    file = readEcbFile(text);
    const csv = path.join(dir, 'eurofxref-hist.csv');
    writeFileSync(csv, text);
    const result = await runCli(
      ['backfill', '--source', 'ecb-csv', '--file', csv, '--from', '2022-01-01', '--to', '2024-12-31', '--json'],
      { env: { DATABASE_URL: database.url }, timeoutMs: 120_000 },
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  }, 180_000);

  afterAll(async () => {
    await db?.close();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('recovers every published EUR→X value with api.convert at 16:00 Berlin of its day', async () => {
    const ats: Date[] = [];
    const codes: string[] = [];
    const published: string[] = [];
    for (const { date, values } of file.days) {
      for (const [code, value] of values) {
        ats.push(ecbPublicationTime(date));
        codes.push(code);
        published.push(value);
      }
    }
    const rows = await db.query<{ i: number; rate: string }>(
      `select t.i::int as i, c.rate::text as rate
         from unnest($1::timestamptz[], $2::text[]) with ordinality as t(at, code, i)
         cross join lateral api.convert(1, 'EUR', t.code, t.at) c
        order by t.i`,
      [ats, codes],
    );
    expect(rows).toHaveLength(published.length);
    const wrong = rows.filter((row) => {
      const expected = published[row.i - 1]!;
      return !new D(row.rate).toDecimalPlaces(decimalsOf(expected)).eq(new D(expected));
    });
    expect(wrong).toEqual([]);
  }, 120_000);

  it("has a monthly row for every (currency, month) with a published day, its average the file's mean to 10 significant digits", async () => {
    // USD→X on each published day, computed from the file alone: EUR→X / EUR→USD (EUR: 1 / EUR→USD).
    const sums = new Map<string, { sum: Decimal; days: number }>();
    for (const { date, values } of file.days) {
      const usd = values.get('USD');
      if (!usd) continue;
      for (const [code, value] of values) {
        const quote = code === 'USD' ? 'EUR' : code;
        const usdToQuote = code === 'USD' ? new D(1).div(usd) : new D(value).div(usd);
        const key = `${date.slice(0, 7)} ${quote}`;
        const seen = sums.get(key) ?? { sum: new D(0), days: 0 };
        sums.set(key, { sum: seen.sum.plus(usdToQuote), days: seen.days + 1 });
      }
    }
    const rows = await db.query<{ key: string; average: string; publishing_days: number }>(
      `select to_char(month, 'YYYY-MM') || ' ' || quote as key, average::text as average, publishing_days
         from api.monthly_rates where base = 'USD' and source = 'ecb'`,
    );
    const stored = new Map(rows.map((row) => [row.key, row]));
    const mismatches: string[] = [];
    for (const [key, { sum, days }] of sums) {
      const row = stored.get(key);
      const mean = sum.div(days).toSignificantDigits(10);
      if (!row) mismatches.push(`${key}: no monthly row`);
      else if (!new D(row.average).toSignificantDigits(10).eq(mean) || row.publishing_days !== days) {
        mismatches.push(`${key}: ${row.average} over ${row.publishing_days} days, file ${mean.toFixed()} over ${days}`);
      }
    }
    expect(mismatches).toEqual([]);
    expect(sums.size).toBeGreaterThan(36 * 25);
  });

  it('has a daily row for every day a rate is in force: publishing days observed, the days between carried', async () => {
    const jpy = await db.query<{ date: string; observations: number; carried: boolean; close: string }>(
      `select to_char(date, 'YYYY-MM-DD') as date, observations::int as observations, carried, close::text as close
         from api.daily_rates where base = 'USD' and quote = 'JPY' and source = 'ecb' order by date`,
    );
    const published = new Set(file.days.filter((d) => d.values.has('JPY')).map((d) => d.date));
    const first = [...published].sort()[0]!;
    const last = [...published].sort().at(-1)!;
    const calendarDays = (Date.parse(last) - Date.parse(first)) / 86_400_000 + 1;
    expect(jpy[0]!.date).toBe(first);
    expect(jpy.at(-1)!.date).toBe(last);
    // Easter and Christmas closures are at most 5 days: within the 7-day maximum age, every day is in force.
    expect(jpy).toHaveLength(calendarDays);
    for (const day of jpy) {
      expect(day.observations, day.date).toBe(published.has(day.date) ? 1 : 0);
      expect(day.carried, day.date).toBe(!published.has(day.date));
    }
    // (2022 and 2023 are 2024's lines moved, weekdays and all: a real weekend is 2024's.)
    const saturday = jpy.find((d) => d.date >= '2024-01-01' && new Date(`${d.date}T00:00:00Z`).getUTCDay() === 6)!;
    expect(saturday.carried).toBe(true);
    const friday = jpy[jpy.indexOf(saturday) - 1]!;
    expect(saturday.close).toBe(friday.close);
  });

  it('serves no retired currency as current, and refuses it with P0002 naming its last value and source', async () => {
    const latest = await db.query<{ quote: string; status: string; preferred: boolean }>(
      `select quote, status, preferred from api.latest_rates where base = 'USD' and source = 'ecb' and quote in ('RUB', 'HRK', 'CYP', 'JPY')
        order by quote`,
    );
    // The file ends in 2024: every ECB rate is older than the maximum age now, the left-out ones retired.
    expect(latest).toEqual([
      { quote: 'CYP', status: 'retired', preferred: false },
      { quote: 'HRK', status: 'retired', preferred: false },
      { quote: 'JPY', status: 'stale', preferred: false },
      { quote: 'RUB', status: 'retired', preferred: false },
    ]);
    const active = await db.query<{ code: string; is_active: boolean }>(
      `select code, is_active from api.currencies where code in ('RUB', 'HRK', 'CYP', 'JPY') order by code`,
    );
    expect(active.map((c) => [c.code, c.is_active])).toEqual([
      ['CYP', false],
      ['HRK', false],
      ['JPY', true],
      ['RUB', false],
    ]);

    // Now, every ECB leg is refused; in 2024 EUR is in force and CYP is not.
    await expect(db.query(`select * from api.convert(1, 'EUR', 'CYP')`)).rejects.toMatchObject({ code: 'P0002' });
    const refusal = await db
      .query(`select * from api.convert(1, 'EUR', 'CYP', $1)`, [ecbPublicationTime('2024-06-03')])
      .catch((error: { code?: string; message: string }) => error);
    expect(refusal).toMatchObject({ code: 'P0002' });
    const cypLast = ecbPublicationTime('2022-01-10').toISOString();
    expect((refusal as Error).message).toContain('CYP');
    expect((refusal as Error).message).toContain('(ecb)');
    const [cyp] = await db.query<{ as_of: Date }>(`select $1::timestamptz as as_of`, [cypLast]);
    const [formatted] = await db.query<{ text: string }>(`select $1::timestamptz::text as text`, [cyp!.as_of]);
    expect((refusal as Error).message).toContain(formatted!.text);

    // In force while published: 1 EUR = 0.585274 CYP on 2022-01-05.
    const [fixed] = await db.query<{ rate: string }>(`select rate::text from api.convert(1, 'EUR', 'CYP', $1)`, [
      ecbPublicationTime('2022-01-05'),
    ]);
    expect(new D(fixed!.rate).toDecimalPlaces(6).toFixed()).toBe('0.585274');

    // ISK's pause: refused inside it (no leg from before the pause), served again after it.
    const inPause = await db
      .query(`select * from api.convert(1, 'EUR', 'ISK', '2023-04-03T15:00:00Z')`)
      .catch((error: { code?: string }) => error);
    expect(inPause).toMatchObject({ code: 'P0002' });
    const back = [...file.days].reverse().find((d) => d.date >= '2023-06-01' && d.values.has('ISK'))!;
    const after = back.values.get('ISK')!;
    const [resumed] = await db.query<{ rate: string }>(`select rate::text from api.convert(1, 'EUR', 'ISK', $1)`, [
      ecbPublicationTime(back.date),
    ]);
    expect(new D(resumed!.rate).toDecimalPlaces(decimalsOf(after)).toFixed()).toBe(after);
    const pauseDays = await db.query(
      `select 1 from api.daily_rates where quote = 'ISK' and source = 'ecb' and date between '2023-02-09' and '2023-05-31'`,
    );
    expect(pauseDays).toEqual([]);
  });
});
