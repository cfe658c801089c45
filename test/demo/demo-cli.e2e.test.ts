import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

/** What `fxpipe demo --json` prints, the fields read here. */
interface DemoJson {
  byStatus: Record<string, number | undefined>;
  report: { rejects: { reason: string }[]; comparison: { source: string }[] };
}

describe('fxpipe demo', () => {
  it('runs N simulated days of 4-hourly runs offline, fails over during the outage, quarantines bad values', async () => {
    const result = await runCli(['demo', '--days', '4', '--json'], { env: { DATABASE_URL: inject('adminUrl') }, timeoutMs: 120_000 });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout) as DemoJson;
    expect(summary).toMatchObject({ database: 'fxpipe_demo', days: 4, runs: 24, failoverRuns: 3 });
    expect(summary.byStatus.failed ?? 0).toBe(0);
    expect(summary.byStatus.loaded).toBeGreaterThanOrEqual(4);
    expect(summary.report.rejects.map((r) => r.reason).sort()).toEqual(['bad_code', 'non_positive']);
    expect(summary.report.comparison.map((r) => r.source)).toEqual(['ecb', 'frankfurter', 'open-er-api']);

    const url = new URL(inject('adminUrl'));
    url.pathname = '/fxpipe_demo';
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    try {
      const { rows } = await client.query<{ kind: string; n: number; failover: number }>(
        `select kind, count(*)::int as n, count(*) filter (where failover)::int as failover from pipeline_runs group by kind`,
      );
      expect(rows).toEqual([{ kind: 'demo', n: 24, failover: 3 }]);
      const { rows: methods } = await client.query<{ extraction_method: string }>(
        `select distinct extraction_method from bronze_extraction order by 1`,
      );
      expect(methods.map((m) => m.extraction_method)).toEqual(['failover', 'scheduled']);
    } finally {
      await client.end();
      const admin = new pg.Client({ connectionString: inject('adminUrl') });
      await admin.connect();
      await admin.query('drop database if exists fxpipe_demo with (force)');
      await admin.end();
    }
  });

  it('rejects a bad --days with exit 2', async () => {
    const result = await runCli(['demo', '--days', 'many']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('fxpipe: invalid --days "many": expected a whole number from 1 to 366\n');
  });
});
