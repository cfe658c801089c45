import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { finished, runCli, startCli, waitForOutput } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { connect, dropRoles, passwordFile, sqlState, uniqueRole, urlAs } from './support.js';

/**
 * grant-reader's limits on any server (the embedded one and, in CI, Debian's PostgreSQL 15): what PostgreSQL holds for the
 * role, what a reader meets, and `fxpipe db watch-readers` enforcing the query limit the reader lifted for itself.
 */
describe('reader limits: grant-reader sets them, the watchdog enforces them', () => {
  let database: TestDatabase;
  let owner: pg.Client;
  let env: Record<string, string>;
  const roles: string[] = [];

  async function grant(role: string, ...extra: string[]) {
    if (!roles.includes(role)) roles.push(role);
    return runCli(['db', 'grant-reader', role, '--password-file', passwordFile(`pw-${role}`), ...extra], { env });
  }

  /** The role's per-role settings and connection limit, as PostgreSQL's catalogs hold them. */
  async function held(role: string): Promise<{ settings: string[]; connectionLimit: number; temp: boolean }> {
    const { rows } = await owner.query<{ settings: string[] | null; limit: number; temp: boolean }>(
      `select (select setconfig from pg_db_role_setting s where s.setrole = r.oid and s.setdatabase = 0) as settings,
              r.rolconnlimit as limit, has_database_privilege(r.oid, current_database(), 'TEMP') as temp
         from pg_roles r where r.rolname = $1`, [role]);
    return { settings: [...(rows[0]!.settings ?? [])].sort(), connectionLimit: rows[0]!.limit, temp: rows[0]!.temp };
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    env = { DATABASE_URL: database.url };
    const init = await runCli(['db', 'init'], { env });
    expect(init.code, init.stderr).toBe(0);
    owner = await connect(database.url);
  });
  afterAll(async () => {
    await owner?.end();
    await database?.drop();
    await dropRoles(inject('adminUrl'), roles);
  });

  it('a new reader gets 30 s, 60 s, 10 connections and no TEMP; --json says so', async () => {
    const role = uniqueRole();
    const result = await grant(role, '--json');
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ role, created: true, limits: { statementTimeoutMs: 30_000, idleInTransactionTimeoutMs: 60_000, connectionLimit: 10 } });
    expect(await held(role)).toEqual({ settings: ['idle_in_transaction_session_timeout=60000', 'statement_timeout=30000'], connectionLimit: 10, temp: false });
    const reader = await connect(urlAs(database.url, role, `pw-${role}`));
    try {
      expect((await reader.query<{ v: string }>(`select current_setting('statement_timeout') as v`)).rows[0]!.v).toBe('30s');
      expect(await sqlState(reader, 'create temp table scratch (a int)')).toBe('42501');
      const routines = await reader.query<{ name: string }>(`select distinct routine_name as name from information_schema.routines where routine_schema = 'api' order by 1`);
      expect(routines.rows.map((r) => r.name)).toEqual(expect.arrayContaining(['convert', 'usd_rate', 'consensus_rate']));
      const parameters = await reader.query(`select 1 from information_schema.parameters where specific_schema = 'api' and parameter_name = 'amount'`);
      expect(parameters.rows.length).toBeGreaterThan(0);
    } finally {
      await reader.end();
    }
    // fxpipe itself still stages loads in temporary tables.
    expect(await held((await owner.query<{ u: string }>('select current_user as u')).rows[0]!.u)).toMatchObject({ temp: true });
  });

  it('grant-reader on an existing reader updates the limits given and keeps the others', async () => {
    const role = uniqueRole();
    expect((await grant(role, '--statement-timeout', '2min', '--connection-limit', '4')).code).toBe(0);
    expect(await held(role)).toEqual({ settings: ['idle_in_transaction_session_timeout=60000', 'statement_timeout=120000'], connectionLimit: 4, temp: false });
    const again = await grant(role, '--idle-in-transaction-timeout', '500ms');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('Limits: queries up to 2 min, idle in a transaction up to 500 ms');
    expect(await held(role)).toEqual({ settings: ['idle_in_transaction_session_timeout=500', 'statement_timeout=120000'], connectionLimit: 4, temp: false });
  });

  it('bad limits are one line and exit 2, and nothing is created', async () => {
    const role = uniqueRole();
    for (const [flag, value, message] of [
      ['--statement-timeout', '30', /^fxpipe: invalid --statement-timeout "30": expected a duration from 100ms to 24h with its unit/],
      ['--statement-timeout', '0s', /^fxpipe: invalid --statement-timeout "0s"/],
      ['--idle-in-transaction-timeout', '2d', /^fxpipe: invalid --idle-in-transaction-timeout "2d"/],
      ['--connection-limit', '0', /^fxpipe: invalid --connection-limit/],
      ['--connection-limit', 'ten', /^fxpipe: invalid --connection-limit/],
    ] as const) {
      const result = await grant(role, flag, value);
      expect(result.code, `${flag} ${value}`).toBe(2);
      expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(message)]);
    }
    expect((await owner.query('select 1 from pg_roles where rolname = $1', [role])).rows).toEqual([]);
  });

  it('db watch-readers cancels a reader query past its limit, whatever the reader set, and leaves other roles alone', async () => {
    const role = uniqueRole();
    expect((await grant(role, '--statement-timeout', '1s')).code).toBe(0);
    const watchdog = startCli(['db', 'watch-readers', '--interval', '200ms'], { env: { ...env, FXPIPE_LOG_LEVEL: 'warn' } });
    try {
      await waitForOutput(watchdog, 'Watching reader roles');
      const reader = await connect(urlAs(database.url, role, `pw-${role}`));
      try {
        await reader.query('set statement_timeout = 0');
        await reader.query(`alter role ${role} reset statement_timeout`);
        const started = Date.now();
        expect(await sqlState(reader, 'select pg_sleep(30)')).toBe('57014');
        expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
      } finally {
        await reader.end();
      }
      // The owner's long query is nobody's business but its own.
      const ownerSleep = await owner.query<{ slept: string }>(`select pg_sleep(1.5)::text as slept`);
      expect(ownerSleep.rows).toHaveLength(1);
      // On the embedded server its own watchdog may be the one that cancels first; on another server only this one runs.
      if (process.env.DATABASE_URL) {
        for (let i = 0; i < 20 && !watchdog.out.stderr.includes('reader query cancelled'); i++) await sleep(100);
        expect(watchdog.out.stderr).toContain(`"role":"${role}"`);
      }
    } finally {
      watchdog.kill('SIGINT');
      expect((await finished(watchdog)).code).toBe(0);
    }
  }, 60_000);

  it('db watch-readers refuses, in one line, a role that could not see or stop readers\' queries', async () => {
    const role = uniqueRole('fxplain');
    roles.push(role);
    await owner.query(`create role ${role} login password 'plain-pw'`);
    await owner.query(`grant connect on database ${database.name} to ${role}`);
    const result = await runCli(['db', 'watch-readers'], { env: { DATABASE_URL: urlAs(database.url, role, 'plain-pw') } });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([`fxpipe: role ${role} cannot see or stop other roles' queries: grant it pg_read_all_stats and pg_signal_backend (or run the watchdog as a superuser)`]);
  });
});
