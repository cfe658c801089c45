import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, scratchDir, type TestDatabase } from '../helpers/database.js';

/** One line on stderr, prefixed fxpipe:, and no stack trace. */
function expectOneLineError(stderr: string, pattern: RegExp) {
  const lines = stderr.trim().split('\n');
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^fxpipe: /);
  expect(lines[0]).toMatch(pattern);
  expect(stderr).not.toMatch(/\n\s+at /);
}

describe('the fxpipe CLI', () => {
  let target: TestDatabase;
  beforeAll(async () => {
    target = await createTestDatabase();
  });
  afterAll(async () => target.drop());

  it('--help lists every command with a one-line description', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: fxpipe/);
    expect(result.stdout).toMatch(/\n\s+db\s+manage the warehouse database/);
    const db = await runCli(['db', '--help']);
    for (const sub of ['init', 'start', 'stop', 'url']) expect(db.stdout).toMatch(new RegExp(`\\n\\s+${sub}\\b.*\\S`));
    const init = await runCli(['db', 'init', '--help']);
    expect(init.stdout).toContain('--driver <driver>');
    expect(init.stdout).toMatch(/choices: "direct",\s+"pooled"/);
  });

  it('an unknown flag is one line and exit code 2', async () => {
    const result = await runCli(['db', 'init', '--bogus']);
    expect(result.code).toBe(2);
    expectOneLineError(result.stderr, /unknown option '--bogus'/);
  });

  it('a wrong --driver value names the allowed ones', async () => {
    const result = await runCli(['db', 'init', '--driver', 'orm']);
    expect(result.code).toBe(2);
    expectOneLineError(result.stderr, /'orm' is invalid.*direct, pooled/);
  });

  it('a malformed DATABASE_URL is one line, exit 2, and never echoes the value', async () => {
    const result = await runCli(['db', 'init'], { env: { DATABASE_URL: 'postgres//admin:hunter2-secret@db' } });
    expect(result.code).toBe(2);
    expectOneLineError(result.stderr, /invalid setting DATABASE_URL: expected a URL of the form postgres:\/\//);
    expect(result.stderr).not.toContain('hunter2-secret');
  });

  it('an unreachable server is one line naming it, exit 2, without the password', async () => {
    const result = await runCli(['db', 'init'], { env: { DATABASE_URL: 'postgres://fx:hunter2-secret@127.0.0.1:1/fx' } });
    expect(result.code).toBe(2);
    expectOneLineError(result.stderr, /cannot connect to PostgreSQL at 127\.0\.0\.1:1\/fx \(DATABASE_URL\): .*ECONNREFUSED/);
    expect(result.stderr).not.toContain('hunter2-secret');
  });

  it('a wrong password is one line, exit 2, without the password', async () => {
    const url = new URL(target.url);
    url.password = 'not-the-password';
    const result = await runCli(['db', 'init'], { env: { DATABASE_URL: url.toString() } });
    expect(result.code).toBe(2);
    expectOneLineError(result.stderr, /cannot connect to PostgreSQL at .*password authentication failed/);
    expect(result.stderr).not.toContain('not-the-password');
  });

  it('--verbose adds the stack trace', async () => {
    const result = await runCli(['--verbose', 'db', 'init'], { env: { DATABASE_URL: 'postgres://fx:pw@127.0.0.1:1/fx' } });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/\n\s+at /);
  });

  it('an unwritable FXPIPE_HOME is one line and exit 2', async () => {
    const dir = scratchDir();
    const file = path.join(dir, 'a-file');
    writeFileSync(file, '');
    const result = await runCli(['db', 'url'], { env: { FXPIPE_HOME: path.join(file, 'home') } });
    expect(result.code).toBe(2);
    expectOneLineError(result.stderr, /FXPIPE_HOME .*a-file\/home is not a writable directory \(ENOTDIR\)/);
  });

  it('a bad config value fails with the setting and what is allowed, from the env or from fxpipe.config.json', async () => {
    const env = await runCli(['db', 'url'], { env: { FXPIPE_LOG_LEVEL: 'loud' } });
    expect(env.code).toBe(2);
    expectOneLineError(
      env.stderr,
      /invalid setting FXPIPE_LOG_LEVEL: "loud" expected one of trace, debug, info, warn, error, fatal, silent/,
    );

    const dir = scratchDir();
    writeFileSync(path.join(dir, 'fxpipe.config.json'), JSON.stringify({ driver: 'orm' }));
    const file = await runCli(['db', 'url'], { cwd: dir });
    expect(file.code).toBe(2);
    expectOneLineError(file.stderr, /invalid setting driver in .*fxpipe\.config\.json: "orm" expected one of direct, pooled/);

    writeFileSync(path.join(dir, 'fxpipe.config.json'), JSON.stringify({ drivr: 'direct' }));
    const unknown = await runCli(['db', 'url'], { cwd: dir });
    expect(unknown.code).toBe(2);
    expectOneLineError(unknown.stderr, /unknown setting drivr/);

    writeFileSync(path.join(dir, 'fxpipe.config.json'), '{"driver": ');
    const broken = await runCli(['db', 'url'], { cwd: dir });
    expect(broken.code).toBe(2);
    expectOneLineError(broken.stderr, /fxpipe\.config\.json: not valid JSON/);
  });

  it('a setting of the wrong JSON type says what is expected, in words', async () => {
    const dir = scratchDir();
    writeFileSync(path.join(dir, 'fxpipe.config.json'), JSON.stringify({ databaseUrl: 5432 }));
    const url = await runCli(['db', 'url'], { cwd: dir });
    expect(url.code).toBe(2);
    expectOneLineError(
      url.stderr,
      /invalid setting databaseUrl in .*fxpipe\.config\.json: expected a URL of the form postgres:\/\/host:port\/database \(several hosts: host1:port1,host2:port2\), with user:password@ before the host$/,
    );
    writeFileSync(path.join(dir, 'fxpipe.config.json'), JSON.stringify({ sources: 7, logLevel: 'info' }));
    const sources = await runCli(['db', 'url'], { cwd: dir });
    expect(sources.code).toBe(2);
    expectOneLineError(sources.stderr, /invalid setting sources in .*: 7 expected a comma-separated list of open-er-api, /);
    expect(sources.stderr).not.toMatch(/Invalid input/);
  });

  it('an empty --sources is a usage error, and a source that needs a key without one is a bad setting (exit 2), before anything runs', async () => {
    const env = { DATABASE_URL: target.url };
    for (const command of [['run'], ['schedule']]) {
      const empty = await runCli([...command, '--sources', ''], { env });
      expect(empty.code).toBe(2);
      expectOneLineError(empty.stderr, /invalid --sources "": expected at least one source/);
    }
    const keyless = await runCli(['run', '--sources', 'exchangerate-api'], { env: { ...env, EXCHANGERATE_API_KEY: '' } });
    expect(keyless.code).toBe(2);
    expectOneLineError(keyless.stderr, /the source exchangerate-api needs an API key: set EXCHANGERATE_API_KEY/);
  });

  it('settings come from fxpipe.config.json, and the environment overrides them', async () => {
    const dir = scratchDir();
    writeFileSync(path.join(dir, 'fxpipe.config.json'), JSON.stringify({ databaseUrl: target.url, driver: 'pooled' }));
    const fromFile = await runCli(['db', 'init', '--json'], { cwd: dir });
    expect(fromFile.code).toBe(0);
    expect(JSON.parse(fromFile.stdout)).toMatchObject({ driver: 'pooled' });
    const fromEnv = await runCli(['db', 'init', '--json'], { cwd: dir, env: { FXPIPE_DRIVER: 'direct' } });
    expect(JSON.parse(fromEnv.stdout)).toMatchObject({ driver: 'direct', applied: [] });
  });

  it('with DATABASE_URL set, fxpipe starts no server of its own', async () => {
    const home = scratchDir();
    const result = await runCli(['db', 'url'], { env: { DATABASE_URL: target.url, FXPIPE_HOME: home } });
    expect(result.stdout.trim()).toBe(target.url);
    const init = await runCli(['db', 'init'], { env: { DATABASE_URL: target.url, FXPIPE_HOME: home } });
    expect(init.code).toBe(0);
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(home)).toEqual([]);
    const start = await runCli(['db', 'start'], { env: { DATABASE_URL: target.url, FXPIPE_HOME: home } });
    expect(start.code).toBe(2);
    expectOneLineError(start.stderr, /DATABASE_URL is set/);
  });
});
