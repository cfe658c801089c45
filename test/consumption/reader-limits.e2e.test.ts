import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { finished, runCli, startCli, waitForOutput } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { matcher } from '../helpers/matcher.js';
import { openDb } from '../../src/warehouse/connection.js';
import { applyReaderLimits, currentLimits, DEFAULT_READER_LIMITS } from '../../src/postgres/readers/reader-limits.js';
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
         from pg_roles r where r.rolname = $1`,
      [role],
    );
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

  it('a new reader gets 30 s, 60 s, 10 connections, 1 GB of temporary files, 512 MB of memory and no TEMP; --json says so', async () => {
    const role = uniqueRole();
    const result = await grant(role, '--json');
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      role,
      created: true,
      tempFileLimitSet: true,
      memoryLimitEnforced: false,
      limits: {
        statementTimeoutMs: 30_000,
        idleInTransactionTimeoutMs: 60_000,
        connectionLimit: 10,
        tempFileLimitKb: 1_048_576,
        memoryLimitKb: 524_288,
      },
    });
    expect(await held(role)).toEqual({
      settings: ['idle_in_transaction_session_timeout=60000', 'statement_timeout=30000', 'temp_file_limit=1048576'],
      connectionLimit: 10,
      temp: false,
    });
    const reader = await connect(urlAs(database.url, role, `pw-${role}`));
    try {
      expect((await reader.query<{ v: string }>(`select current_setting('statement_timeout') as v`)).rows[0]!.v).toBe('30s');
      expect(await sqlState(reader, 'create temp table scratch (a int)')).toBe('42501');
      const routines = await reader.query<{ name: string }>(
        `select distinct routine_name as name from information_schema.routines where routine_schema = 'api' order by 1`,
      );
      expect(routines.rows.map((r) => r.name)).toEqual(expect.arrayContaining(['convert', 'usd_rate', 'consensus_rate']));
      const parameters = await reader.query(
        `select 1 from information_schema.parameters where specific_schema = 'api' and parameter_name = 'amount'`,
      );
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
    expect(await held(role)).toEqual({
      settings: ['idle_in_transaction_session_timeout=60000', 'statement_timeout=120000', 'temp_file_limit=1048576'],
      connectionLimit: 4,
      temp: false,
    });
    const again = await grant(role, '--idle-in-transaction-timeout', '500ms', '--temp-file-limit', '200MB');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('Limits: queries up to 2 min, idle in a transaction up to 500 ms');
    expect(again.stdout).toContain('temporary files up to 200 MB');
    expect(await held(role)).toEqual({
      settings: ['idle_in_transaction_session_timeout=500', 'statement_timeout=120000', 'temp_file_limit=204800'],
      connectionLimit: 4,
      temp: false,
    });
  });

  it('bad limits are one line and exit 2, and nothing is created', async () => {
    const role = uniqueRole();
    for (const [flag, value, message] of [
      ['--statement-timeout', '30', /^fxpipe: invalid --statement-timeout "30": expected a duration from 100ms to 24h with its unit/],
      ['--statement-timeout', '0s', /^fxpipe: invalid --statement-timeout "0s"/],
      ['--idle-in-transaction-timeout', '2d', /^fxpipe: invalid --idle-in-transaction-timeout "2d"/],
      ['--connection-limit', '0', /^fxpipe: invalid --connection-limit/],
      ['--connection-limit', 'ten', /^fxpipe: invalid --connection-limit/],
      [
        '--temp-file-limit',
        '1G',
        /^fxpipe: invalid --temp-file-limit "1G": expected a size from 1 MB to 2 TB with its unit \(kB, MB, GB or TB\)/,
      ],
      ['--temp-file-limit', '512kB', /^fxpipe: invalid --temp-file-limit "512kB"/],
      ['--memory-limit', '3TB', /^fxpipe: invalid --memory-limit "3TB": expected a size from 16 MB to 2 TB/],
    ] as const) {
      const result = await grant(role, flag, value);
      expect(result.code, `${flag} ${value}`).toBe(2);
      expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(message)]);
    }
    expect((await owner.query('select 1 from pg_roles where rolname = $1', [role])).rows).toEqual([]);
  });

  it('temporary files: a sort past --temp-file-limit fails (53400), and the reader can neither lift the limit nor reset it', async () => {
    const role = uniqueRole();
    const result = await grant(role, '--temp-file-limit', '1MB');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    const reader = await connect(urlAs(database.url, role, `pw-${role}`));
    try {
      expect((await reader.query<{ v: string }>(`select current_setting('temp_file_limit') as v`)).rows[0]!.v).toBe('1MB');
      expect(await sqlState(reader, 'set temp_file_limit = -1')).toBe('42501');
      expect(await sqlState(reader, `alter role ${role} reset temp_file_limit`)).toBe('42501');
      // work_mem is the reader's to raise (USERSET): kept small, the sort spills to temporary files, which the limit stops.
      await reader.query(`set work_mem = '64kB'`);
      const sort = 'select count(*) as n from (select g from generate_series(1, 300000) g order by g desc) s';
      const error = await reader.query(sort).catch((e: pg.DatabaseError) => e);
      expect(error).toMatchObject({ code: '53400', message: matcher.stringContaining('temp_file_limit') });
      await owner.query(`set work_mem = '64kB'`);
      expect((await owner.query<{ n: string }>(sort)).rows[0]!.n).toBe('300000');
    } finally {
      await reader.end();
      await owner.query('reset work_mem');
    }
    expect(await held(role)).toMatchObject({ settings: matcher.arrayContaining(['temp_file_limit=1024']) });
  });

  it('a role that may not set temp_file_limit (no superuser) sets the other limits and says the temporary files stay unbounded', async () => {
    const admin = uniqueRole('fxadm');
    const role = uniqueRole();
    roles.push(role, admin);
    await owner.query(`create role ${admin} login createrole password 'adm-pw'`);
    await owner.query(`grant connect on database ${database.name} to ${admin}`);
    const db = await openDb({ url: urlAs(database.url, admin, 'adm-pw'), label: admin, embedded: false });
    try {
      await db.query(`create role ${role} login`);
      const applied = await db.transaction((tx) => applyReaderLimits(tx, role, { ...DEFAULT_READER_LIMITS, statementTimeoutMs: 5000 }));
      expect(applied).toEqual({ tempFileLimitSet: false });
    } finally {
      await db.close();
    }
    expect(await held(role)).toMatchObject({
      settings: ['idle_in_transaction_session_timeout=60000', 'statement_timeout=5000'],
      connectionLimit: 10,
    });
    expect(await currentLimits(await database.open(), role)).toMatchObject({ statementTimeoutMs: 5000 });
  });

  it('grant-reader refuses, naming each fix, a reader that could take advisory locks or create temporary tables in another database; nothing changes', async () => {
    const role = uniqueRole();
    expect((await grant(role)).code).toBe(0);
    const before = await held(role);
    // Both only for this role: other test files grant readers on the same server meanwhile.
    const other = await createTestDatabase();
    try {
      await owner.query('grant execute on function pg_catalog.pg_advisory_lock(bigint) to public');
      await owner.query(`grant connect, temporary on database ${other.name} to ${role}`);
      const refused = await grant(role, '--statement-timeout', '5s');
      expect(refused.code, refused.stderr).toBe(2);
      expect(refused.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(new RegExp(`^fxpipe: ${role} would be able to do more than read schema api, so nothing was changed: `)),
      ]);
      expect(refused.stderr).toContain(`advisory locks: EXECUTE on pg_advisory_lock(bigint) (1 of the `);
      expect(refused.stderr).toContain(`through PUBLIC; a superuser revokes it in database ${database.name} (docs/make-com.md)`);
      expect(refused.stderr).toContain(
        `TEMP on database ${other.name} (fix: revoke temporary on database ${other.name} from public, ${role})`,
      );
      expect(await held(role)).toEqual(before);
      await owner.query('revoke execute on function pg_catalog.pg_advisory_lock(bigint) from public');
      await owner.query(`revoke temporary on database ${other.name} from ${role}`);
      expect((await grant(role, '--statement-timeout', '5s')).code).toBe(0);
    } finally {
      await owner.query('revoke execute on function pg_catalog.pg_advisory_lock(bigint) from public');
      await owner.query(`revoke all on database ${other.name} from ${role}`);
      await other.drop();
    }
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

  it("db watch-readers refuses, in one line, a role that could not see or stop readers' queries", async () => {
    const role = uniqueRole('fxplain');
    roles.push(role);
    await owner.query(`create role ${role} login password 'plain-pw'`);
    await owner.query(`grant connect on database ${database.name} to ${role}`);
    const result = await runCli(['db', 'watch-readers'], { env: { DATABASE_URL: urlAs(database.url, role, 'plain-pw') } });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([
      `fxpipe: role ${role} cannot see or stop other roles' queries: grant it pg_read_all_stats and pg_signal_backend (or run the watchdog as a superuser)`,
    ]);
  });
});
