import { afterEach, describe, expect, it } from 'vitest';
import { faults } from '../../src/demo/provider-server.js';
import { createLogger } from '../../src/log.js';
import { reprocess } from '../../src/jobs/reprocess.js';
import { runCli } from '../helpers/cli.js';
import { count, harness, type Harness } from '../helpers/pipeline.js';
import { matcher } from '../helpers/matcher.js';

describe('reprocess', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });
  const options = { lockWaitMs: 1000, log: createLogger('silent') };

  it('replays stored responses with a new change threshold, calling no provider; a second replay adds nothing', async () => {
    h = await harness();
    for (let day = 0; day < 4; day++) {
      await h.run();
      h.clock.advanceHours(24);
    }
    const published = await (await fetch(`${h.server.baseUrls['open-er-api']}/v6/latest/USD`)).text();
    h.server.injectFault('open-er-api', faults.body(published.replace('"rates":{', '"rates":{"QQQ":-2,')));
    await h.run();
    const history = await count(h.db, 'select * from fact_rates_history');
    const rejects = await count(h.db, 'select * from rejected_rates');
    const requests = h.server.requests.length;
    const current = await h.db.query('select * from fact_rates_current order by 1, 2, 3');

    const replay = await reprocess(h.db, { ...options, changeThresholdPct: 0 });
    expect(h.server.requests.length).toBe(requests);
    expect(replay.responses).toBe(10); // 5 runs × (primary + reference)
    expect(replay.status).toBe('loaded');
    expect(replay.counts.loaded).toBeGreaterThan(0);
    expect(await count(h.db, 'select * from fact_rates_history')).toBe(history + replay.counts.loaded);
    // The moves within 0.01 % are now stored; a pegged currency never moved, and an exact repeat is never stored twice.
    expect(
      await count(
        h.db,
        `select * from fact_rates_history h join dim_currency q on q.currency_id = h.quote_currency_id
                               join dim_source s using (source_id) where q.currency_code = 'AED' and s.source_name = 'open-er-api'`,
      ),
    ).toBe(1);
    expect(await count(h.db, `select * from fact_rates_history where change_pct = 0`)).toBe(0);
    expect(await count(h.db, 'select * from rejected_rates')).toBe(rejects);
    expect(await h.db.query('select * from fact_rates_current order by 1, 2, 3')).toEqual(current);

    const again = await reprocess(h.db, { ...options, changeThresholdPct: 0 });
    expect(again).toMatchObject({ status: 'unchanged', counts: { loaded: 0 } });
    expect(await count(h.db, 'select * from rejected_rates')).toBe(rejects);
    expect(await count(h.db, `select * from pipeline_runs where kind = 'reprocess'`)).toBe(2);
  });

  it('filters by --since and --source, and reports responses the parsers cannot use', async () => {
    h = await harness();
    await h.run();
    h.clock.advanceHours(24);
    await h.run();
    await h.db.query(`update bronze_extraction set raw_json = '{"result":"error","error-type":"quota-reached"}'
                       where source_name = 'open-er-api' and extracted_at = (select min(extracted_at) from bronze_extraction)`);
    const all = await reprocess(h.db, { ...options, changeThresholdPct: 0.01 });
    expect(all.responses).toBe(4);
    expect(all.unusable).toEqual([expect.objectContaining({ source: 'open-er-api', error: matcher.stringMatching(/quota-reached/) })]);
    const one = await reprocess(h.db, {
      ...options,
      changeThresholdPct: 0.01,
      source: 'frankfurter',
      since: new Date('2024-01-10T00:00:00Z'),
    });
    expect(one.responses).toBe(1);
  });

  it('the CLI rejects a bad --since with exit 2: not a date, a day the calendar has not, a year it cannot store', async () => {
    // 2024-02-30 is not read as 1 March, nor 24:00 as the next day; PostgreSQL has no year 0 (src/calendar/days.ts).
    for (const since of [
      'yesterday',
      '2024-02-30',
      '2023-02-29T12:00:00Z',
      '2024-01-01T24:00:00Z',
      '0000-01-01',
      '9999-12-31T23:00:00-14:00',
    ]) {
      const result = await runCli(['reprocess', '--since', since]);
      expect(result.code, since).toBe(2);
      expect(result.stderr, since).toBe(
        `fxpipe: invalid --since "${since}": expected a date YYYY-MM-DD or an ISO 8601 time, years 0001 to 9999\n`,
      );
    }
  });
});
