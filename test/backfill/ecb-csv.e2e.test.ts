import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ecbPublicationTime } from '../../src/calendar/ecb.js';
import type { Db } from '../../src/warehouse/db.js';
import { initWarehouse } from '../../src/warehouse/init.js';
import { runCli } from '../helpers/cli.js';
import { type BackfillJson } from '../helpers/cli-json.js';
import { createTestDatabase, scratchDir, type TestDatabase } from '../helpers/database.js';
import { count } from '../helpers/pipeline.js';
import { matcher } from '../helpers/matcher.js';
import { exactRepeats, FIXTURE_CSV, fixtureText, historyContents, readEcbFile, threeYearCsv, writeZip } from './support.js';

describe('fxpipe backfill --source ecb-csv', () => {
  const databases: TestDatabase[] = [];
  const dir = scratchDir('fxpipe-backfill-');
  afterAll(async () => {
    await Promise.all(databases.map((d) => d.drop()));
    rmSync(dir, { recursive: true, force: true });
  });

  async function fresh(): Promise<{
    database: TestDatabase;
    db: Db;
    backfill: (args: string[], env?: Record<string, string>) => ReturnType<typeof runCli>;
  }> {
    const database = await createTestDatabase();
    databases.push(database);
    const db = await database.open();
    await initWarehouse(db);
    return {
      database,
      db,
      backfill: (args, env = {}) =>
        runCli(['backfill', '--source', 'ecb-csv', '--json', ...args], { env: { DATABASE_URL: database.url, ...env } }),
    };
  }

  /** USD→X stored for each (date, code) of the ecb source. */
  async function storedRates(db: Db): Promise<Map<string, string>> {
    const rows = await db.query<{ key: string; rate: string }>(
      `select to_char(d.full_date, 'YYYY-MM-DD') || ' ' || q.currency_code as key, h.rate::text as rate
         from fact_rates_history h join dim_date d using (date_key)
         join dim_currency b on b.currency_id = h.base_currency_id and b.currency_code = 'USD'
         join dim_currency q on q.currency_id = h.quote_currency_id
         join dim_source s on s.source_id = h.source_id and s.source_name = 'ecb'`,
    );
    return new Map(rows.map((r) => [r.key, r.rate]));
  }

  it('loads every value of the ECB file rebased to USD, at the ECB fix of its date; a second backfill adds nothing', async () => {
    const { db, backfill } = await fresh();
    const first = await backfill(['--file', FIXTURE_CSV, '--from', '2024-01-01', '--to', '2024-12-31', '--change-threshold', '0']);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const result = JSON.parse(first.stdout) as BackfillJson;
    const file = readEcbFile(fixtureText());
    const values = file.days.reduce((n, day) => n + day.values.size, 0);
    // Exact repeats of a pair's previous value are the only values not stored (the change rule).
    const repeats = exactRepeats(file);
    expect(repeats.size).toBeGreaterThan(0);
    const kept = values - repeats.size;
    expect(result).toMatchObject({
      status: 'loaded',
      source: 'ecb',
      changeThresholdPct: 0,
      counts: { chunksLoaded: 1, chunksSkipped: 0, read: values, loaded: kept, unchanged: repeats.size, rejected: 0 },
    });

    const stored = await storedRates(db);
    expect(stored.size).toBe(kept); // each day: USD becomes USD→EUR, every other value USD→X
    for (const { date, values: eur } of file.days) {
      const eurUsd = Number(eur.get('USD'));
      for (const [code, value] of eur) {
        const expected = code === 'USD' ? 1 / eurUsd : Number(value) / eurUsd;
        const rate = stored.get(`${date} ${code === 'USD' ? 'EUR' : code}`);
        if (repeats.has(`${date} ${code === 'USD' ? 'EUR' : code}`)) {
          expect(rate, `${date} ${code} repeats its previous value`).toBeUndefined();
          continue;
        }
        expect(rate, `${date} ${code}`).toBeDefined();
        expect(Math.abs(Number(rate) / expected - 1), `${date} ${code}: ${rate} vs ${expected}`).toBeLessThan(5e-11);
      }
    }
    const [times] = await db.query<{ wrong: number }>(
      `select count(*) filter (where h.rate_timestamp <> fx.at)::int as wrong
         from fact_rates_history h join dim_date d using (date_key)
         join unnest($1::date[], $2::timestamptz[]) as fx(day, at) on fx.day = d.full_date`,
      [file.days.map((d) => d.date), file.days.map((d) => ecbPublicationTime(d.date))],
    );
    expect(times?.wrong).toBe(0);
    expect(await count(db, 'select * from fact_rates_history_default')).toBe(0);
    // The newest day is the current rate of each pair; the daily read model has every day from each pair's first
    // publication to the last (weekends and holidays carried): the fixture's 30 pairs all run 2024-01-02 .. 2024-12-31.
    expect(
      await count(db, `select * from vw_rates_latest where source_name = 'ecb' and rate_timestamp = $1`, [
        ecbPublicationTime('2024-12-31'),
      ]),
    ).toBe(30);
    expect(await count(db, `select * from vw_rates_daily_agg where source_name = 'ecb'`)).toBe(30 * 365);
    expect(await count(db, `select * from vw_rates_daily_agg where source_name = 'ecb' and observations > 0`)).toBe(values);
    const [run] = await db.query(`select kind, status, extracted_count, loaded_count from pipeline_runs`);
    expect(run).toEqual({ kind: 'backfill', status: 'loaded', extracted_count: values, loaded_count: kept });

    const before = await historyContents(db, 'ecb');
    const second = await backfill(['--file', FIXTURE_CSV, '--from', '2024-01-01', '--to', '2024-12-31', '--change-threshold', '0']);
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ status: 'unchanged', counts: { chunksLoaded: 0, chunksSkipped: 1, loaded: 0 } });
    expect(await historyContents(db, 'ecb')).toEqual(before);
    expect(await count(db, 'select * from bronze_extraction')).toBe(1);
  });

  it('reads the same file from the zip archive that holds it', async () => {
    const { db, backfill } = await fresh();
    const zip = path.join(dir, 'eurofxref-hist.zip');
    writeZip(zip, 'eurofxref-hist.csv', readFileSync(FIXTURE_CSV));
    const result = await backfill(['--file', zip, '--from', '2024-01-01', '--to', '2024-12-31', '--change-threshold', '0']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const reference = await fresh();
    const referenceRun = await reference.backfill([
      '--file',
      FIXTURE_CSV,
      '--from',
      '2024-01-01',
      '--to',
      '2024-12-31',
      '--change-threshold',
      '0',
    ]);
    expect(referenceRun.stderr).toBe('');
    expect(referenceRun.code).toBe(0);
    const loaded = await historyContents(db, 'ecb');
    expect(loaded.length).toBe(7680 - exactRepeats(readEcbFile(fixtureText())).size);
    expect(loaded).toEqual(await historyContents(reference.db, 'ecb'));
    const [bronze] = await db.query<{ raw_text: string; request_url: string }>('select raw_text, request_url from bronze_extraction');
    expect(bronze?.request_url).toBe(zip);
    expect(bronze?.raw_text).toBe(fixtureText());
  });

  it("stores one bronze row per chunk: the year's CSV text with its header, method backfill, the chunk's dates as parameters", async () => {
    const { db, backfill } = await fresh();
    const csv = path.join(dir, 'three-years.csv');
    const text = threeYearCsv();
    writeFileSync(csv, text);
    const result = await backfill(['--file', csv, '--from', '2022-01-01', '--to', '2024-12-31']);
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout) as BackfillJson;
    expect(json.chunks.map((c) => `${c.from}..${c.to} ${c.status}`)).toEqual([
      '2022-01-01..2022-12-31 loaded',
      '2023-01-01..2023-12-31 loaded',
      '2024-01-01..2024-12-31 loaded',
    ]);
    const bronze = await db.query<{
      extraction_id: string;
      source_name: string;
      extraction_method: string;
      request_url: string;
      request_params: unknown;
      raw_text: string;
      content_sha256: string;
      http_status: number | null;
    }>(
      `select extraction_id, source_name, extraction_method, request_url, request_params, raw_text, content_sha256, http_status
         from bronze_extraction order by request_params->>'from'`,
    );
    const file = readEcbFile(text);
    expect(bronze.map((b) => b.request_params)).toEqual([
      { from: '2022-01-01', to: '2022-12-31' },
      { from: '2023-01-01', to: '2023-12-31' },
      { from: '2024-01-01', to: '2024-12-31' },
    ]);
    for (const [i, year] of ['2022', '2023', '2024'].entries()) {
      const row = bronze[i]!;
      expect(row).toMatchObject({ source_name: 'ecb', extraction_method: 'backfill', request_url: csv, http_status: null });
      expect(row.raw_text).toBe([file.header, ...file.lines.filter((line) => line.startsWith(year))].join('\n') + '\n');
      expect(row.content_sha256).toBe(createHash('sha256').update(row.raw_text).digest('hex'));
      expect(row.extraction_id).toBe(json.chunks[i]!.extractionId);
    }
    const chunks = await db.query<{ chunk_from: string; content_sha256: string; extraction_id: string }>(
      `select to_char(chunk_from, 'YYYY-MM-DD') as chunk_from, content_sha256, extraction_id from backfill_chunks order by chunk_from`,
    );
    expect(chunks.map((c) => [c.content_sha256, c.extraction_id])).toEqual(bronze.map((b) => [b.content_sha256, b.extraction_id]));
    // Every history row points at the bronze row of its own year.
    expect(
      await count(
        db,
        `select * from fact_rates_history h left join bronze_extraction b using (extraction_id)
                              where b.extraction_id is null or h.date_key / 10000 <> extract(year from (b.request_params->>'from')::date)`,
      ),
    ).toBe(0);
    // HRK, discontinued at the end of 2022, has values in 2022 only.
    const [hrk] = await db.query<{ years: number[] }>(
      `select array_agg(distinct h.date_key / 10000 order by h.date_key / 10000) as years from fact_rates_history h
         join dim_currency q on q.currency_id = h.quote_currency_id where q.currency_code = 'HRK'`,
    );
    expect(hrk?.years).toEqual([2022]);
  });

  it('downloads eurofxref-hist.zip from FXPIPE_ECB_URL without --file', async () => {
    const { db, backfill } = await fresh();
    const zip = path.join(dir, 'served.zip');
    writeZip(zip, 'eurofxref-hist.csv', readFileSync(FIXTURE_CSV));
    const requests: string[] = [];
    const server = createServer((request, response) => {
      requests.push(request.url ?? '');
      if (request.url !== '/stats/eurofxref/eurofxref-hist.zip') return void response.writeHead(404).end();
      response.writeHead(200, { 'content-type': 'application/zip' }).end(readFileSync(zip));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/stats/eurofxref`;
    try {
      const result = await backfill(['--from', '2024-07-01', '--to', '2024-12-31', '--change-threshold', '0'], { FXPIPE_ECB_URL: base });
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ location: `${base}/eurofxref-hist.zip`, counts: { chunksLoaded: 1 } });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(requests).toEqual(['/stats/eurofxref/eurofxref-hist.zip']);
    const [range] = await db.query<{ first: number; last: number }>(
      'select min(date_key) as first, max(date_key) as last from fact_rates_history',
    );
    expect(range).toEqual({ first: 20240701, last: 20241231 });
    const [bronze] = await db.query<{ request_url: string; raw_text: string }>('select request_url, raw_text from bronze_extraction');
    expect(bronze?.request_url).toBe(`${base}/eurofxref-hist.zip`);
    expect(
      bronze?.raw_text
        .split('\n')
        .filter(Boolean)
        .slice(1)
        .every((line) => line >= '2024-07-01'),
    ).toBe(true);
  });

  it('quarantines invalid values; a broken year fails the backfill (exit 1) after the years before it, and the rerun resumes', async () => {
    const { db, backfill } = await fresh();
    const text = threeYearCsv();
    const csv = path.join(dir, 'broken.csv');
    const lines = text.split('\n');
    const jpy = readEcbFile(text).codes.indexOf('JPY') + 1;
    const withReject = (line: string) =>
      line
        .split(',')
        .map((cell, i) => (i === jpy ? '0' : cell))
        .join(',');
    const firstOf = (year: string) => lines.findIndex((line) => line.startsWith(year));
    const broken = [...lines];
    broken[firstOf('2022')] = withReject(broken[firstOf('2022')]!);
    broken[firstOf('2023') + 3] = broken[firstOf('2023') + 3]!.replace(/,$/, ''); // one column short
    writeFileSync(csv, broken.join('\n'));
    const failed = await backfill(['--file', csv, '--from', '2022-01-01', '--to', '2024-12-31']);
    expect(failed.code).toBe(1);
    expect(failed.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^fxpipe: backfill \S+ failed at chunk 2023-01-01\.\.2023-12-31: ecb: broken\.csv, year 2023: Invalid Record Length: .* on line 5$/,
      ),
    ]);
    expect(await count(db, 'select * from backfill_chunks')).toBe(1);
    expect(await count(db, 'select * from fact_rates_history where date_key >= 20230101')).toBe(0);
    const [reject] = await db.query(`select quote_code, raw_value, reason from rejected_rates`);
    expect(reject).toEqual({ quote_code: 'JPY', raw_value: '0', reason: 'non_positive' });
    const [run] = await db.query<{ status: string; error: string }>(`select status, error from pipeline_runs`);
    expect(run).toMatchObject({ status: 'failed', error: matcher.stringMatching(/at chunk 2023-01-01\.\.2023-12-31$/) });

    broken[firstOf('2023') + 3] = lines[firstOf('2023') + 3]!;
    writeFileSync(csv, broken.join('\n'));
    const resumed = await backfill(['--file', csv, '--from', '2022-01-01', '--to', '2024-12-31']);
    expect(resumed.code).toBe(0);
    expect((JSON.parse(resumed.stdout) as BackfillJson).counts).toMatchObject({ chunksSkipped: 1, chunksLoaded: 2, rejected: 0 });
  });
});
