import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { faults } from '../../src/demo/provider-server.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { scratchDir } from '../helpers/database.js';
import { harness, type Harness } from '../helpers/pipeline.js';
import { fullRows } from './support.js';

/**
 * Issue 26: a currency published at 1e-13 and then at 1 moved by about 1e15 %, a change_pct DECIMAL(38,24) cannot
 * hold; stored, it made every `fxpipe query` fail and kept its month from the archive. The stored value is now null
 * (the rule: src/transform/change-filter.ts storedChangePct, fx_change_pct in SQL), and a value that does not fit in
 * the hot rows nevertheless (written by hand) is one null in the answer with a warning, never a failed query.
 */
describe('a trillion-fold move: every tier holds what is stored', () => {
  const dir = scratchDir('fxpipe-change-pct-');
  let h: Harness;
  let cli: (args: string[]) => Promise<CliResult>;

  /** One run whose primary publishes the day's values with these ones changed (their JSON text as given). */
  async function publish(values: Record<string, string>): Promise<void> {
    let text = await (await fetch(`${h.server.baseUrls['open-er-api']}/v6/latest/USD`)).text();
    for (const [code, value] of Object.entries(values)) {
      expect(text).toMatch(new RegExp(`"${code}":`));
      text = text.replace(new RegExp(`"${code}":[^,}]+`), `"${code}":${value}`);
    }
    h.server.injectFault('open-er-api', faults.body(text));
    expect(await h.run()).toMatchObject({ status: 'loaded', sourceUsed: 'open-er-api' });
  }

  const SQL = `select quote, rate::varchar as rate, previous_rate::varchar as previous_rate, change_pct::varchar as change_pct, tier
                 from rates_history where source = 'open-er-api' and quote in ('VES', 'XAF') order by quote, rate_timestamp`;
  /** The CSV answer of SQL, the rows in tier; extraVes: more VES rows, after the two published. */
  const answer = (tier: string, extraVes: string[] = []) =>
    [
      'quote,rate,previous_rate,change_pct,tier',
      `VES,0.000000000000100000000000,,,${tier}`,
      `VES,1.000000000000000000000000,0.000000000000100000000000,,${tier}`,
      ...extraVes,
      `XAF,0.000000000000000000000001,,,${tier}`,
      `XAF,99999999999999.990000000000000000000000,0.000000000000000000000001,,${tier}`,
      '',
    ].join('\n');

  beforeAll(async () => {
    h = await harness();
    const env = { DATABASE_URL: h.database.url, FXPIPE_HOME: path.join(dir, 'home'), TMPDIR: dir };
    cli = (args) => runCli(args, { env, timeoutMs: 120_000 });
    await publish({ VES: '0.0000000000001', XAF: '0.000000000000000000000001' });
    h.clock.advanceHours(24);
    await publish({ VES: '1', XAF: '99999999999999.99' });
  }, 120_000);
  afterAll(async () => {
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores the move as null beside the exact rates, in the history and the current rows', async () => {
    const stored = (table: string) =>
      h.db.query(
        `select q.currency_code as quote, f.rate::text as rate, f.previous_rate::text as previous, f.change_pct::text as change_pct
         from ${table} f join dim_currency q on q.currency_id = f.quote_currency_id join dim_source s using (source_id)
        where s.source_name = 'open-er-api' and q.currency_code in ('VES', 'XAF') order by 1, f.rate_timestamp`,
      );
    expect(await stored('fact_rates_history')).toEqual([
      { quote: 'VES', rate: '0.0000000000001', previous: null, change_pct: null },
      { quote: 'VES', rate: '1', previous: '0.0000000000001', change_pct: null },
      { quote: 'XAF', rate: '0.000000000000000000000001', previous: null, change_pct: null },
      { quote: 'XAF', rate: '99999999999999.99', previous: '0.000000000000000000000001', change_pct: null },
    ]);
    expect(await stored('fact_rates_current')).toEqual([
      { quote: 'VES', rate: '1', previous: '0.0000000000001', change_pct: null },
      { quote: 'XAF', rate: '99999999999999.99', previous: '0.000000000000000000000001', change_pct: null },
    ]);
    // The other pairs' moves are stored as before.
    const [moved] = await h.db.query<{ n: number }>(
      `select count(*)::int as n from fact_rates_history where previous_rate is not null and change_pct is not null`,
    );
    expect(moved!.n).toBeGreaterThan(100);
  });

  it('fxpipe query answers; archive moves the month; the archive answers the same; restore brings back every row exactly', async () => {
    const one = await cli(['query', 'select 1 as one', '--format', 'csv']);
    expect(one).toMatchObject({ code: 0, stderr: '', stdout: 'one\n1\n' });
    expect(await cli(['query', SQL, '--format', 'csv'])).toMatchObject({ code: 0, stderr: '', stdout: answer('hot') });

    const before = await fullRows(h.db);
    const archived = await cli(['archive', '--older-than', '90d', '--json']);
    expect(archived.stderr).toBe('');
    expect(archived.code).toBe(0);
    const months = (JSON.parse(archived.stdout) as { months: { month: string; outcome: string }[] }).months;
    expect(months.find((m) => m.month === '2024-01')?.outcome).toBe('archived');
    expect(await fullRows(h.db)).toEqual([]);
    expect(await cli(['query', SQL, '--format', 'csv'])).toMatchObject({ code: 0, stderr: '', stdout: answer('cold') });

    expect(await cli(['restore', '2024-01'])).toMatchObject({ code: 0, stderr: '' });
    expect(await fullRows(h.db)).toEqual(before);
    expect(await cli(['query', SQL, '--format', 'csv'])).toMatchObject({ code: 0, stderr: '', stdout: answer('hot') });
  });

  it('a hot value DECIMAL(38,24) cannot hold (written by hand) is null in the answer with a warning; the query still answers', async () => {
    const huge = '120000000000000000000000000000';
    await h.db.query(
      `insert into fact_rates_history (date_key, base_currency_id, quote_currency_id, source_id, rate_timestamp, rate)
       select 20240111, b.currency_id, q.currency_id, s.source_id, '2024-01-11T20:30:00Z', $1::numeric
         from dim_currency b, dim_currency q, dim_source s
        where b.currency_code = 'USD' and q.currency_code = 'VES' and s.source_name = 'open-er-api'`,
      [huge],
    );
    const warning =
      `fxpipe: warning: rate ${huge} of USD/VES from open-er-api at 2024-01-11T20:30:00.000Z does not fit ` +
      'DECIMAL(38,24) exactly (at most 14 integer digits and 24 decimals): rates_history shows it as null; PostgreSQL keeps it as it is\n';
    expect(await cli(['query', 'select 1 as one', '--format', 'csv'])).toMatchObject({ code: 0, stderr: warning, stdout: 'one\n1\n' });
    const result = await cli(['query', SQL, '--format', 'csv']);
    expect(result).toMatchObject({ code: 0, stderr: warning });
    expect(result.stdout).toBe(answer('hot', ['VES,,,,hot']));
  });
});
