import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { scramSha256Verifier } from '../../src/postgres/readers/scram-verifier.js';
import { embeddedPaths, stopEmbedded } from '../../src/postgres/server/embedded.js';
import { finished, runCli, startCli, type CliResult } from '../helpers/cli.js';
import { pauseRunsAfterHistoryInsert } from '../helpers/pause-runs.js';
import { createTestDatabase, scratchDir } from '../helpers/database.js';
import { harness, TEST_API_KEY, type Harness } from '../helpers/pipeline.js';
import { connect, dropRoles, passwordFile, sqlState, uniqueRole, urlAs } from './support.js';

const newPassword = () => `pw-${randomBytes(12).toString('hex')}`;
const INSUFFICIENT_PRIVILEGE = '42501';

/** One line on stderr, prefixed fxpipe:, exit code 2. */
function expectUsageError(result: CliResult, pattern: RegExp) {
  expect(result.code, result.stderr).toBe(2);
  expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(pattern)]);
}

/** Every process's command line (what `ps -eo args` shows), read from /proc. */
function allCommandLines(): string {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      } catch {
        return ''; // exited meanwhile
      }
    })
    .join('\n');
}

async function waitFor(client: pg.Client, sql: string, params: unknown[] = []): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if ((await client.query(sql, params)).rows.length > 0) return;
    await sleep(50);
  }
  throw new Error(`never true: ${sql}`);
}

describe('reader roles, injection and secrets', () => {
  let h: Harness;
  let owner: pg.Client;
  let env: Record<string, string>;
  const roles: string[] = [];
  const clients: pg.Client[] = [];
  const readerRole = uniqueRole();
  const readerPassword = newPassword();
  let reader: pg.Client;

  /** Relations of the schemas matched, as quoted names: kind r, p, v, m, S, f. */
  async function relations(where: string): Promise<{ name: string; kind: string }[]> {
    const { rows } = await owner.query<{ name: string; kind: string }>(
      `select c.oid::regclass::text as name, c.relkind::text as kind
         from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where ${where} and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f') order by 1`,
    );
    return rows;
  }
  const apiRelations = () => relations(`n.nspname = 'api'`);
  const otherRelations = () => relations(`n.nspname not like 'pg\\_%' and n.nspname not in ('information_schema', 'api')`);

  async function login(role: string, password: string): Promise<pg.Client> {
    const client = await connect(urlAs(h.database.url, role, password));
    clients.push(client);
    return client;
  }

  async function grant(role: string, password?: string, ...extra: string[]): Promise<CliResult> {
    roles.push(role);
    return runCli(['db', 'grant-reader', role, ...(password === undefined ? [] : ['--password-file', passwordFile(password)]), ...extra], {
      env,
    });
  }

  beforeAll(async () => {
    h = await harness();
    await h.run();
    owner = await connect(h.database.url);
    env = { DATABASE_URL: h.database.url };
    const granted = await grant(readerRole, readerPassword);
    expect(granted.stderr).toBe('');
    expect(granted.code).toBe(0);
    expect(granted.stdout).toMatch(
      new RegExp(
        `^Created reader ${readerRole} in database \\w+ \\(.*\\): SELECT on the api views, EXECUTE on the api functions, nothing else \\(no temporary tables\\); password from .*\\.\\nLimits: queries up to 30 s, idle in a transaction up to 1 min \\(enforced by the watchdog: see docs/make-com\\.md\\), at most 10 connections at once, temporary files up to 1 GB; memory bounded only on fxpipe's embedded server \\(docs/make-com\\.md\\)\\.\\n$`,
      ),
    );
    reader = await login(readerRole, readerPassword);
  });

  afterAll(async () => {
    for (const client of [owner, ...clients]) await client?.end().catch(() => undefined);
    await h?.close();
    await dropRoles(inject('adminUrl'), roles);
  });

  describe('what a reader can do', () => {
    it('reads every api view and executes every api function, api.convert included', async () => {
      const views = await apiRelations();
      expect(views.map((v) => v.name)).toEqual(
        expect.arrayContaining(['api.currencies', 'api.latest_rates', 'api.cross_rates', 'api.rate_changes']),
      );
      for (const view of views) {
        const { rows } = await reader.query(`select * from ${view.name} limit 1`);
        expect(rows.length, view.name).toBeLessThanOrEqual(1);
      }
      const { rows: functions } = await owner.query<{ fn: string; allowed: boolean }>(
        `select p.oid::regprocedure::text as fn, has_function_privilege($1::name, p.oid, 'EXECUTE') as allowed
           from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'api'`,
        [readerRole],
      );
      expect(functions.map((f) => f.fn)).toEqual(expect.arrayContaining([expect.stringMatching(/^api\.convert\(/)]));
      for (const fn of functions) expect(fn.allowed, fn.fn).toBe(true);
      const {
        rows: [converted],
      } = await reader.query<{ converted: string; rate: string }>(`select * from api.convert(100, 'EUR', 'JPY')`);
      expect(converted).toMatchObject({ from_currency: 'EUR', to_currency: 'JPY' });
      expect(Number(converted!.converted)).toBeGreaterThan(0);
      const {
        rows: [cross],
      } = await reader.query<{ rate: string }>(`select rate from api.cross_rates where from_currency = $1 and to_currency = $2`, [
        'EUR',
        'JPY',
      ]);
      expect(Number(cross!.rate)).toBeCloseTo(Number(converted!.rate), 8);
    });

    it("sees the api functions and their parameters in information_schema (what Make.com's function module reads), no others", async () => {
      const { rows: routines } = await reader.query<{ name: string }>(
        `select routine_schema || '.' || routine_name as name from information_schema.routines
          where routine_schema not in ('pg_catalog', 'information_schema') order by 1`,
      );
      expect(routines.map((r) => r.name)).toEqual([
        'api.consensus_rate',
        'api.convert',
        'api.currencies_in_force',
        'api.source_rank',
        'api.usd_rate',
      ]);
      const { rows: parameters } = await reader.query<{ name: string }>(
        `select p.parameter_name as name from information_schema.parameters p join information_schema.routines r using (specific_schema, specific_name)
          where r.routine_schema = 'api' and r.routine_name = 'convert' and p.parameter_mode = 'IN' order by p.ordinal_position`,
      );
      expect(parameters.map((p) => p.name)).toEqual(['amount', 'from', 'to', 'at']);
    });

    it('an api view or function created after the grant is covered by the default privileges', async () => {
      const suffix = randomBytes(4).toString('hex');
      await owner.query(`create view api.later_${suffix} as select 1 as one`);
      await owner.query(`create function api.later_fn_${suffix}() returns integer language sql as 'select 2'`);
      try {
        expect((await reader.query(`select one from api.later_${suffix}`)).rows).toEqual([{ one: 1 }]);
        expect((await reader.query(`select api.later_fn_${suffix}() as two`)).rows).toEqual([{ two: 2 }]);
      } finally {
        await owner.query(`drop view api.later_${suffix}`);
        await owner.query(`drop function api.later_fn_${suffix}()`);
      }
    });
  });

  describe('what a reader cannot do', () => {
    it('gets "permission denied" on every other table, view, materialized view and sequence in the database', async () => {
      const others = await otherRelations();
      expect(others.map((r) => r.name)).toEqual(
        expect.arrayContaining([
          'bronze_extraction',
          'rejected_rates',
          'pipeline_runs',
          'fact_rates_history',
          'fact_rates_history_default',
          'vw_rates_latest',
          'fact_rates_history_change_id_seq',
          'fxpipe_migration',
        ]),
      );
      for (const relation of others) {
        if (relation.kind === 'S') {
          expect(await sqlState(reader, `select last_value from ${relation.name}`), relation.name).toBe(INSUFFICIENT_PRIVILEGE);
          expect(await sqlState(reader, 'select nextval($1::regclass)', [relation.name]), relation.name).toBe(INSUFFICIENT_PRIVILEGE);
        } else {
          expect(await sqlState(reader, `select * from ${relation.name} limit 0`), relation.name).toBe(INSUFFICIENT_PRIVILEGE);
        }
      }
    });

    it('cannot INSERT, UPDATE, DELETE or TRUNCATE any table or api view', async () => {
      const counts = async () =>
        (
          await owner.query<{ c: string; f: string; h: string }>(
            `select (select count(*) from dim_currency) as c, (select count(*) from fact_rates_current) as f, (select count(*) from fact_rates_history) as h`,
          )
        ).rows[0]!;
      const before = await counts();
      const tables = (await otherRelations()).filter((r) => r.kind === 'r' || r.kind === 'p');
      expect(tables.length).toBeGreaterThan(10);
      for (const { name } of tables) {
        const {
          rows: [column],
        } = await owner.query<{ name: string }>(
          `select quote_ident(attname) as name from pg_attribute
            where attrelid = $1::regclass and attnum > 0 and not attisdropped and attidentity = '' and attgenerated = '' order by attnum limit 1`,
          [name],
        );
        for (const statement of [
          `insert into ${name} default values`,
          `update ${name} set ${column!.name} = ${column!.name}`,
          `delete from ${name}`,
          `truncate ${name}`,
        ]) {
          expect(await sqlState(reader, statement), statement).toBe(INSUFFICIENT_PRIVILEGE);
        }
      }
      // A view PostgreSQL could write through (a simple view of one table) is stopped by the missing
      // privilege; the other views are refused earlier, as not writable at all (55000), and no view can be
      // truncated (42809). Either way nothing changes.
      const { rows: updatable } = await owner.query<{ name: string }>(
        `select 'api.' || quote_ident(table_name) as name from information_schema.views where table_schema = 'api' and is_insertable_into = 'YES'`,
      );
      expect(updatable.map((v) => v.name)).toEqual(expect.arrayContaining(['api.currencies', 'api.sources']));
      for (const { name } of (await apiRelations()).filter((r) => r.kind === 'v')) {
        const {
          rows: [column],
        } = await owner.query<{ name: string }>(
          'select quote_ident(attname) as name from pg_attribute where attrelid = $1::regclass and attnum > 0 order by attnum limit 1',
          [name],
        );
        const expected = updatable.some((v) => v.name === name) ? [INSUFFICIENT_PRIVILEGE] : ['55000'];
        for (const statement of [
          `insert into ${name} default values`,
          `update ${name} set ${column!.name} = ${column!.name}`,
          `delete from ${name}`,
        ]) {
          expect(expected, statement).toContain(await sqlState(reader, statement));
        }
        expect(await sqlState(reader, `truncate ${name}`), name).toBe('42809');
      }
      expect(await counts()).toEqual(before);
    });

    it('cannot create anything: a table in public or api, a view, a function, a schema, a large object', async () => {
      for (const statement of [
        'create table public.reader_table (a integer)',
        'create table api.reader_table (a integer)',
        'create view public.reader_view as select 1',
        `create function public.reader_fn() returns integer language sql as 'select 1'`,
        'create schema reader_schema',
        'select lo_create(0)',
        'select lo_from_bytea(0, $$x$$::bytea)',
      ]) {
        expect(await sqlState(reader, statement), statement).toBe(INSUFFICIENT_PRIVILEGE);
      }
    });

    it('cannot halt the pipeline: the run lock is a row lock it cannot take; nor any advisory lock', async () => {
      await expect(reader.query('select 1 from fxpipe_run_lock for update')).rejects.toMatchObject({ code: INSUFFICIENT_PRIVILEGE });
      // Nor any advisory lock (the migrator's, the tiering lock's, the old run lock's key).
      for (const sql of [
        'select pg_advisory_lock(7710420337741550911)',
        `select pg_try_advisory_lock(hashtext('fxpipe.tiering'))`,
        'select pg_advisory_xact_lock(3853314791062309107)',
        'select pg_advisory_lock_shared(1, 2)',
      ]) {
        await expect(reader.query(sql), sql).rejects.toMatchObject({ code: INSUFFICIENT_PRIVILEGE });
      }
      // What it can do meanwhile (hold a read transaction open on api) does not stop a run.
      await reader.query('begin');
      await reader.query('select count(*) from api.latest_rates');
      try {
        h.clock.advanceHours(24);
        const result = await h.run({ lockWaitMs: 1000 });
        expect(result.status).toBe('loaded');
      } finally {
        await reader.query('rollback');
      }
    });

    it("cannot call the warehouse's own functions (fx_ensure_partitions and the rest)", async () => {
      expect(await sqlState(reader, `select fx_ensure_partitions('2031-01-01', '2031-02-01')`)).toBe(INSUFFICIENT_PRIVILEGE);
      expect(await sqlState(reader, `select fx_ensure_dates('2031-01-01', '2031-02-01')`)).toBe(INSUFFICIENT_PRIVILEGE);
      const { rows } = await owner.query<{ fn: string; allowed: boolean }>(
        `select p.oid::regprocedure::text as fn, has_function_privilege($1::name, p.oid, 'EXECUTE') as allowed
           from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'public'`,
        [readerRole],
      );
      expect(rows.map((r) => r.fn)).toEqual(expect.arrayContaining([expect.stringMatching(/^fx_ensure_partitions\(/)]));
      expect(rows.filter((r) => r.allowed)).toEqual([]);
      expect((await owner.query<{ p: string | null }>(`select to_regclass('fact_rates_history_y2031m01') as p`)).rows[0]!.p).toBeNull();
    });
  });

  describe('grant-reader and revoke-reader', () => {
    it('granting again updates the password and re-grants; revoke-reader removes every grant and default privilege, then the role', async () => {
      const role = uniqueRole();
      const first = newPassword();
      const created = await grant(role, first, '--json');
      expect(created.code).toBe(0);
      expect(JSON.parse(created.stdout)).toMatchObject({ role, created: true, password: 'file' });
      expect(JSON.parse(created.stdout)).not.toHaveProperty('generatedPassword');
      await (await login(role, first)).query('select * from api.currencies limit 1');

      const second = newPassword();
      const updated = await grant(role, second);
      expect(updated.stdout).toMatch(new RegExp(`^Updated reader ${role} .*; password from .*\\.\\nLimits: .*\\n$`));
      await expect(login(role, first)).rejects.toMatchObject({ code: '28P01' });
      await (await login(role, second)).query('select * from api.currencies limit 1');
      const unchanged = await grant(role);
      expect(unchanged.stdout).toMatch(/password unchanged \(--password-file sets a new one\)\.\nLimits: .*\n$/);
      await login(role, second);

      const { oid } = (await owner.query<{ oid: number }>('select oid from pg_roles where rolname = $1', [role])).rows[0]!;
      expect(
        Number((await owner.query<{ n: string }>('select count(*) as n from pg_shdepend where refobjid = $1', [oid])).rows[0]!.n),
      ).toBeGreaterThan(0);
      for (const client of clients.splice(clients.length - 3)) await client.end(); // its three sessions above
      const revoked = await runCli(['db', 'revoke-reader', role], { env });
      expect(revoked.stderr).toBe('');
      expect(revoked.code).toBe(0);
      expect(revoked.stdout).toMatch(
        new RegExp(`^Revoked reader ${role}: its privileges in database \\w+ \\(.*\\) are revoked and the role is dropped\\.\\n$`),
      );
      expect((await owner.query('select 1 from pg_roles where rolname = $1', [role])).rows).toEqual([]);
      expect((await owner.query('select 1 from pg_shdepend where refobjid = $1', [oid])).rows).toEqual([]);
      expect((await owner.query('select 1 from pg_default_acl d, aclexplode(d.defaclacl) a where a.grantee = $1', [oid])).rows).toEqual([]);
      expectUsageError(await runCli(['db', 'revoke-reader', role], { env }), new RegExp(`^fxpipe: no role ${role} on this server$`));
    });

    it('the SCRAM verifier computed client-side is the one PostgreSQL computes from the password itself', async () => {
      const role = uniqueRole();
      roles.push(role);
      const password = 'Some pass-word with spaces & punctuation: ~!@#$%^*()_+{}|"<>?`';
      await owner.query(`create role ${role} password ${pg.escapeLiteral(password)}`);
      const stored = (await owner.query<{ stored: string }>('select rolpassword as stored from pg_authid where rolname = $1', [role]))
        .rows[0]!.stored;
      const [, iterations, salt] = /^SCRAM-SHA-256\$(\d+):([^$]+)\$/.exec(stored)!;
      expect(scramSha256Verifier(password, Buffer.from(salt!, 'base64'), Number(iterations))).toBe(stored);
    });

    it('a reader granted in two databases: revoking in one keeps the role (exit 1) until it is revoked in the other', async () => {
      const role = uniqueRole();
      const password = newPassword();
      const other = await createTestDatabase();
      try {
        expect((await grant(role, password)).code).toBe(0);
        expect((await runCli(['db', 'grant-reader', role], { env: { DATABASE_URL: other.url } })).code).toBe(0);
        const first = await runCli(['db', 'revoke-reader', role], { env });
        expect(first.code).toBe(1);
        expect(first.stdout).toMatch(
          new RegExp(
            `^Revoked reader ${role}'s privileges in database \\w+ .*, but the role remains: .*privileges for database ${other.name}.*\\. Run revoke-reader against that database too\\.\\n$`,
          ),
        );
        expect(
          (await owner.query<{ api: boolean }>(`select has_schema_privilege($1::name, 'api', 'USAGE') as api`, [role])).rows[0]!.api,
        ).toBe(false);
        const second = await runCli(['db', 'revoke-reader', role, '--json'], { env: { DATABASE_URL: other.url } });
        expect(second.code).toBe(0);
        expect(JSON.parse(second.stdout)).toMatchObject({ role, database: other.name, dropped: true });
        expect((await owner.query('select 1 from pg_roles where rolname = $1', [role])).rows).toEqual([]);
      } finally {
        await other.drop();
      }
    });

    it('without --password-file a new role gets a random password, printed once; granting again keeps it', async () => {
      const role = uniqueRole();
      const created = await grant(role);
      expect(created.code).toBe(0);
      const lines = created.stdout.trim().split('\n');
      expect(lines).toHaveLength(3);
      expect(lines[0]).toMatch(/; password generated\.$/);
      expect(lines[2]).toMatch(/^Limits: /);
      const password = /: (\S{32})$/.exec(lines[1]!)?.[1];
      expect(lines[1]).toMatch(/^Password \(shown this once; fxpipe keeps no copy/);
      await login(role, password!);
      const again = await grant(role);
      expect(again.stdout).not.toContain(password);
      expect(again.stdout.trim().split('\n')).toHaveLength(2);
      await login(role, password!);
    });

    it('refuses roles it did not create, and the role it connects as, changing nothing', async () => {
      const plain = uniqueRole('plain');
      roles.push(plain);
      await owner.query(`create role ${plain} nologin`);
      const { me } = (await owner.query<{ me: string }>('select current_user as me')).rows[0]!;
      for (const command of ['grant-reader', 'revoke-reader']) {
        expectUsageError(
          await runCli(['db', command, plain], { env }),
          new RegExp(`^fxpipe: role ${plain} (exists and )?is not an fxpipe reader`),
        );
        expect((await runCli(['db', command, me], { env })).code).toBe(2);
      }
      expect((await runCli(['db', 'grant-reader', me], { env })).stderr).toMatch(/is the role fxpipe connects as/);
      const {
        rows: [after],
      } = await owner.query<{ rolcanlogin: boolean; comment: string | null; api: boolean }>(
        `select rolcanlogin, shobj_description(oid, 'pg_authid') as comment, has_schema_privilege(oid, 'api', 'USAGE') as api from pg_roles where rolname = $1`,
        [plain],
      );
      expect(after).toEqual({ rolcanlogin: false, comment: null, api: false });
    });

    it('refuses a missing, empty or non-ASCII password file without echoing it', async () => {
      const role = uniqueRole();
      const dir = scratchDir();
      const missing = path.join(dir, 'nope');
      expectUsageError(
        await grant(role, undefined, '--password-file', missing),
        new RegExp(`^fxpipe: cannot read the password file ${missing} \\(ENOENT\\)$`),
      );
      const empty = path.join(dir, 'empty');
      writeFileSync(empty, '\n');
      expectUsageError(await grant(role, undefined, '--password-file', empty), /^fxpipe: the password file .* is empty/);
      const accented = path.join(dir, 'accented');
      writeFileSync(accented, 'pässwörd-geheim\n');
      const result = await grant(role, undefined, '--password-file', accented);
      expectUsageError(result, /printable ASCII/);
      expect(result.stderr).not.toContain('geheim');
      if (process.getuid?.() !== 0) {
        // root reads any file, so this check only means something for other users
        const locked = path.join(dir, 'locked');
        writeFileSync(locked, 'secret\n');
        chmodSync(locked, 0);
        expectUsageError(await grant(role, undefined, '--password-file', locked), /\(EACCES\)$/);
      }
      expect((await owner.query('select 1 from pg_roles where rolname = $1', [role])).rows).toEqual([]);
    });
  });

  describe('injection', () => {
    // Roles are the cluster's: other test files create and drop their uniqueRole() readers meanwhile, so those are
    // not counted; every other role is, and none may carry a name tried here.
    const TRIED = ['x; drop table dim_currency', '"x"', 'Reader', 'a'.repeat(64), "x'--", 'pg_reader', 'public', '1abc'];
    const intact = async () => {
      const {
        rows: [row],
      } = await owner.query<{ present: boolean; roles: number; tried: number }>(
        `select to_regclass('dim_currency') is not null as present,
                (select count(*) from pg_roles where rolname !~ '^(fxr|plain|fxplain|fxadm)_[0-9a-f]{10}$')::int as roles,
                (select count(*) from pg_roles where rolname = any ($1::text[]))::int as tried`,
        [TRIED],
      );
      return row;
    };

    // 16 CLI processes: 29 s on an idle 2-core machine.
    it('role names that are not plain lower-case identifiers are rejected before any SQL', { timeout: 180_000 }, async () => {
      const before = await intact();
      for (const name of TRIED) {
        for (const command of ['grant-reader', 'revoke-reader']) {
          expectUsageError(
            await runCli(['db', command, name], { env }),
            /^fxpipe: invalid role name .*: (expected 1 to 63 lower-case letters|reserved by PostgreSQL)/,
          );
        }
      }
      expect(await intact()).toEqual(before);
      expect(before).toMatchObject({ present: true, tried: 0 });
    });

    it('a currency code carrying SQL is an unknown currency (22023), as a literal or as a parameter', async () => {
      const before = await intact();
      const code = "EUR'; drop table dim_currency; --";
      for (const [text, params] of [
        [`select * from api.convert(100, 'EUR''; drop table dim_currency; --', 'JPY')`, []],
        ['select * from api.convert(100, $1, $2)', [code, 'JPY']],
      ] as const) {
        const error = await reader.query(text, [...params]).catch((e: pg.DatabaseError) => e);
        expect(error).toMatchObject({ code: '22023', message: "unknown currency: EUR'; DROP TABLE DIM_CURRENCY; --" });
      }
      expect(await intact()).toEqual(before);
    });

    it('a date or source list carrying SQL is a usage error (exit 2)', async () => {
      const before = await intact();
      expectUsageError(
        await runCli(['reprocess', '--since', "2024-01-01'; drop table dim_currency; --"], { env }),
        /^fxpipe: invalid --since "2024-01-01'; drop table dim_currency; --": expected a date/,
      );
      expectUsageError(
        await runCli(['run', '--sources', 'open-er-api;drop'], { env: { ...env, ...h.server.env } }),
        /^fxpipe: invalid --sources "open-er-api;drop"/,
      );
      expect(await intact()).toEqual(before);
    });
  });

  describe('secrets', () => {
    it('a reader password reaches neither the command line, pg_stat_activity, the output nor the logs, even while grant-reader runs', async () => {
      const role = uniqueRole();
      expect((await grant(role, newPassword())).code).toBe(0);
      const secret = newPassword();
      // Hold the role's catalog row so grant-reader stops inside its ALTER ROLE until we let go.
      const blocker = await connect(h.database.url);
      clients.push(blocker);
      await blocker.query('begin');
      await blocker.query(`alter role ${role} connection limit 5`);
      const child = startCli(['--verbose', 'db', 'grant-reader', role, '--password-file', passwordFile(secret)], {
        env: { ...env, FXPIPE_LOG_LEVEL: 'trace' },
      });
      await waitFor(owner, `select 1 from pg_stat_activity where query ilike 'alter role%password%' and wait_event_type = 'Lock'`);
      const { rows } = await owner.query<{ text: string }>(`select concat_ws(' ', application_name, query) as text from pg_stat_activity`);
      const activity = rows.map((r) => r.text).join('\n');
      expect(activity).toContain('SCRAM-SHA-256$4096:');
      expect(activity).not.toContain(secret);
      const commandLines = allCommandLines();
      expect(commandLines).toContain(`grant-reader ${role}`);
      expect(commandLines).not.toContain(secret);
      expect(execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })).not.toContain(secret);
      await blocker.query('rollback');
      const result = await finished(child);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout + result.stderr).not.toContain(secret);
      await login(role, secret);
    });

    it('an API key reaches neither command lines, pg_stat_activity, logs, output, bronze nor status while and after a run', async () => {
      const pause = await pauseRunsAfterHistoryInsert(h.database.url);
      const keyed = { ...env, ...h.server.env, EXCHANGERATE_API_KEY: TEST_API_KEY, FXPIPE_LOG_LEVEL: 'trace', FXPIPE_HTTP_RETRIES: '1' };
      try {
        const run = startCli(['--verbose', 'run', '--json', '--no-verify', '--sources', 'exchangerate-api'], { env: keyed });
        await pause.waitUntilPaused();
        const { rows } = await owner.query<{ text: string }>(
          `select concat_ws(' ', application_name, query) as text from pg_stat_activity`,
        );
        expect(rows.map((r) => r.text).join('\n')).not.toContain(TEST_API_KEY);
        expect(allCommandLines()).toContain('run --json');
        expect(allCommandLines()).not.toContain(TEST_API_KEY);
        await pause.release();
        const result = await finished(run);
        expect(result.code, result.stderr).toBe(0);
        expect(JSON.parse(result.stdout)).toMatchObject({ status: 'loaded', sourceUsed: 'exchangerate-api' });
        const status = await runCli(['--verbose', 'status'], { env: keyed });
        const statusJson = await runCli(['status', '--json'], { env: keyed });
        expect(status.code).toBe(0);
        const stored = (
          await owner.query<{ t: string }>(
            `select string_agg(t, ' ') as t from (select b::text as t from bronze_extraction b union all select r::text from pipeline_runs r) x`,
          )
        ).rows[0]!.t;
        expect(stored).toContain('exchangerate-api');
        for (const output of [result.stdout, result.stderr, status.stdout, status.stderr, statusJson.stdout, stored]) {
          expect(output).not.toContain(TEST_API_KEY);
        }
      } finally {
        await pause.release();
        await owner.query('drop trigger test_pause on fact_rates_history');
        await owner.query('drop function test_pause()');
      }
    });

    it("an embedded server's log, with every statement logged, holds the SCRAM verifier and never the password", async () => {
      const home = path.join(scratchDir(), '.fxpipe');
      const homeEnv = { FXPIPE_HOME: home };
      try {
        expect((await runCli(['db', 'init'], { env: homeEnv })).code).toBe(0);
        const ownerUrl = (await runCli(['db', 'url'], { env: homeEnv })).stdout.trim();
        const embeddedOwner = await connect(ownerUrl);
        clients.push(embeddedOwner);
        await embeddedOwner.query(`alter system set log_statement = 'all'`);
        await embeddedOwner.query('select pg_reload_conf()');
        for (let i = 0; i < 100; i++) {
          const probe = await connect(ownerUrl);
          const { rows } = await probe.query<{ v: string }>(`select current_setting('log_statement') as v`);
          await probe.end();
          if (rows[0]!.v === 'all') break;
          await sleep(50);
        }
        const role = uniqueRole();
        const secret = newPassword();
        const granted = await runCli(['db', 'grant-reader', role, '--password-file', passwordFile(secret)], { env: homeEnv });
        expect(granted.code, granted.stderr).toBe(0);
        expect(granted.stdout).not.toContain(secret);
        const embeddedReader = await connect(urlAs(ownerUrl, role, secret));
        await embeddedReader.query('select * from api.currencies limit 1');
        await embeddedReader.end();
        const log = readFileSync(embeddedPaths(home).logFile, 'utf8');
        expect(log).toMatch(/statement: create role ".*" with login .* password 'SCRAM-SHA-256\$4096:/);
        expect(log).not.toContain(secret);
      } finally {
        await stopEmbedded(home);
      }
    });
  });
});
