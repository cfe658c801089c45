import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embeddedPaths, readRunning, stopEmbedded } from '../../src/warehouse/server/embedded.js';
import { reachableHosts } from '../../src/warehouse/server/local-addresses.js';
import { finished, runCli, startCli, waitForOutput } from '../helpers/cli.js';
import { scratchDir } from '../helpers/database.js';
import { connect, passwordFile, uniqueRole } from './support.js';

/** This machine's non-loopback address, as the printed Make.com fields name it (never connected to by tests). */
const externalAddress = reachableHosts('0.0.0.0')[0];
/**
 * Tests only ever connect within 127.0.0.0/8 (this workplace allows no other address). A server bound to
 * 127.0.0.1 refuses 127.0.0.2; listening on 0.0.0.0 it accepts there, with a password only.
 */
const otherAddress = '127.0.0.2';

async function listenAddresses(url: string): Promise<string> {
  const client = await connect(url);
  try {
    return (await client.query<{ v: string }>(`select current_setting('listen_addresses') as v`)).rows[0]!.v;
  } finally {
    await client.end();
  }
}

/** The "  Name   value" lines under "Make.com PostgreSQL connection:". */
function makeFields(stdout: string): Record<string, string> {
  const block = stdout.split('Make.com PostgreSQL connection:\n')[1] ?? '';
  const fields: Record<string, string> = {};
  for (const line of block.split('\n')) {
    const match = /^ {2}(Host|Port|Database name|User name|Password|SSL) +(.+)$/.exec(line);
    if (match) fields[match[1]!] = match[2]!;
  }
  return fields;
}

function activeHbaLines(home: string): string[] {
  return readFileSync(path.join(embeddedPaths(home).dataDir, 'pg_hba.conf'), 'utf8')
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim().split(/\s+/).join(' '))
    .filter(Boolean);
}

describe('db start --listen: the embedded server reachable by Make.com', () => {
  const home = path.join(scratchDir(), '.fxpipe');
  const env = { FXPIPE_HOME: home };
  const reader = uniqueRole();
  const readerPassword = `listen-${reader}`;
  let ownerUrl: string;
  let port: number;

  beforeAll(async () => {
    expect((await runCli(['db', 'init'], { env })).code).toBe(0);
    ownerUrl = (await runCli(['db', 'url'], { env })).stdout.trim();
    port = Number(new URL(ownerUrl).port);
  });
  afterAll(async () => {
    await stopEmbedded(home);
  });

  it('db start without --listen stays on 127.0.0.1', async () => {
    const server = startCli(['db', 'start'], { env });
    await waitForOutput(server, 'Press Ctrl-C');
    expect(server.out.stdout).toContain(`PostgreSQL already running on 127.0.0.1:${port}`);
    expect(server.out.stdout).not.toContain('Note:');
    server.kill('SIGINT');
    expect((await finished(server)).code).toBe(0);
    expect(await listenAddresses(ownerUrl)).toBe('127.0.0.1');
    await expect(connect({ host: otherAddress, port, user: 'fxpipe', database: 'fxpipe', password: 'x' })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('db start --listen 0.0.0.0 restarts it there and prints the fields of a Make.com connection, never the owner password', async () => {
    expect((await runCli(['db', 'grant-reader', reader, '--password-file', passwordFile(readerPassword)], { env })).code).toBe(0);
    const server = startCli(['db', 'start', '--listen', '0.0.0.0'], { env });
    await waitForOutput(server, 'Press Ctrl-C');
    const out = server.out.stdout;
    expect(out).toMatch(new RegExp(`^PostgreSQL restarted \\(its open sessions were closed\\), listening on 0\\.0\\.0\\.0 port ${port}, a password \\(scram-sha-256\\) required for every connection`));
    const fields = makeFields(out);
    expect(Object.keys(fields)).toEqual(['Host', 'Port', 'Database name', 'User name', 'Password', 'SSL']);
    expect(fields.Port).toBe(`${port} (kept across stops and starts: recorded in ${path.join(env.FXPIPE_HOME, 'port')}; --port N or FXPIPE_PORT moves it)`);
    expect(fields['Database name']).toBe('fxpipe');
    expect(fields['User name']).toMatch(new RegExp(`^${reader} \\(readers of this database: .*${reader}`));
    expect(fields.Password).toMatch(/grant-reader/);
    expect(fields.SSL).toMatch(/^not enabled: .*TLS tunnel/);
    if (externalAddress) expect(fields.Host).toContain(externalAddress);
    expect(out).not.toContain(decodeURIComponent(new URL(ownerUrl).password));
    expect(await listenAddresses(ownerUrl)).toBe('0.0.0.0');
    server.kill('SIGINT');
    const result = await finished(server);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('the server keeps running');
    expect((await readRunning(embeddedPaths(home).dataDir))?.status).toBe('ready');
  });

  it('pg_hba.conf asks every connection for a password (scram-sha-256) and trusts nothing', () => {
    const lines = activeHbaLines(home);
    expect(lines).toEqual(expect.arrayContaining(['host all all 0.0.0.0/0 scram-sha-256', 'host all all ::/0 scram-sha-256']));
    for (const line of lines) expect(line).toMatch(/ scram-sha-256$/);
    expect(lines.join('\n')).not.toMatch(/\btrust\b/);
  });

  it(`through an address other than 127.0.0.1 (${otherAddress}): no password or a wrong one fails, the reader's works`, async () => {
    const remote = { host: otherAddress, port, database: 'fxpipe' };
    await expect(connect({ ...remote, user: reader })).rejects.toThrow();
    await expect(connect({ ...remote, user: reader, password: 'wrong' })).rejects.toMatchObject({ code: '28P01' });
    await expect(connect({ ...remote, user: 'fxpipe', password: 'wrong' })).rejects.toMatchObject({ code: '28P01' });
    const client = await connect({ ...remote, user: reader, password: readerPassword });
    try {
      const { rows } = await client.query<{ client: string; user: string }>('select host(inet_client_addr()) as client, current_user as user');
      expect(rows[0]).toEqual({ client: expect.stringMatching(/^127\./), user: reader });
      await client.query('select * from api.latest_rates limit 1');
      await expect(client.query('select * from pipeline_runs limit 1')).rejects.toMatchObject({ code: '42501' });
    } finally {
      await client.end();
    }
  });

  it('db start without --listen warns while it is exposed; after a stop the next start is loopback-only again', async () => {
    const server = startCli(['db', 'start'], { env });
    await waitForOutput(server, 'Press Ctrl-C');
    expect(server.out.stdout).toContain('Note: it also listens on 0.0.0.0');
    server.kill('SIGINT');
    await finished(server);
    expect((await runCli(['db', 'stop'], { env })).code).toBe(0);
    const url = (await runCli(['db', 'url'], { env })).stdout.trim();
    expect(await listenAddresses(url)).toBe('127.0.0.1');
  });

  it('on a stopped server, --listen starts it there, and Ctrl-C stops it', async () => {
    expect((await runCli(['db', 'stop'], { env })).code).toBe(0);
    const server = startCli(['db', 'start', '--listen', '*'], { env });
    await waitForOutput(server, 'Press Ctrl-C to stop it.');
    expect(server.out.stdout).toMatch(/^PostgreSQL started, listening on \* port \d+/);
    server.kill('SIGINT');
    const result = await finished(server);
    expect(result.code, JSON.stringify(result)).toBe(0);
    expect(result.stdout).toContain('Stopped.');
    expect(await readRunning(embeddedPaths(home).dataDir)).toBeNull();
  });

  it('refuses anything but an IP address of this machine, 0.0.0.0, :: or *, before touching the server', async () => {
    const untouched = path.join(scratchDir(), '.fxpipe');
    for (const value of ["0.0.0.0' -c ssl=off", 'x; rm -rf /', '300.1.1.1', 'localhost', '192.0.2.250', '']) {
      const result = await runCli(['db', 'start', '--listen', value], { env: { FXPIPE_HOME: untouched } });
      expect(result.code, value).toBe(2);
      expect(result.stderr.trim().split('\n'), value).toEqual([expect.stringMatching(/^fxpipe: invalid --listen .*(expected an IP address|not an address of this machine)/)]);
    }
    expect(existsSync(untouched)).toBe(false);
    const withUrl = await runCli(['db', 'start', '--listen', '0.0.0.0'], { env: { FXPIPE_HOME: untouched, DATABASE_URL: 'postgres://x:y@127.0.0.1:1/x' } });
    expect(withUrl.code).toBe(2);
    expect(withUrl.stderr).toMatch(/^fxpipe: DATABASE_URL is set/);
  });
});
