import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { Decimal } from 'decimal.js';
import pg from 'pg';
import { generate } from 'selfsigned';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, resolveTarget } from '../../src/warehouse/connection.js';
import { embeddedPaths, readRunning, runAs, stopEmbedded } from '../../src/postgres/server/embedded.js';
import { reachableHosts } from '../../src/postgres/server/local-addresses.js';
import { tlsPaths } from '../../src/postgres/server/tls.js';
import { runningWatchdog } from '../../src/postgres/server/watchdog.js';
import { finished, runCli, startCli, waitForOutput } from '../helpers/cli.js';
import { scratchDir } from '../helpers/database.js';
import { matcher } from '../helpers/matcher.js';
import { connect, passwordFile, sqlState, uniqueRole } from './support.js';
import { manualRun } from '../helpers/pipeline.js';

const run = promisify(execFile);

/** This machine's non-loopback address, as the printed Make.com fields name it (never connected to by tests). */
const externalAddress = reachableHosts('0.0.0.0')[0];
/**
 * Tests only ever connect within 127.0.0.0/8 (this workplace allows no other address): 127.0.0.2 stands for the remote
 * address Make.com connects to. Linux gives such a connection the source address 127.0.0.1.
 */
const remoteAddress = '127.0.0.2';

const OPEN_ER_FIXTURE = readFileSync('test/fixtures/open-er-api-latest-USD-2024-01-09.json', 'utf8');
/** open.er-api's published USD→code, as the digits in its file. */
const published = (code: string) => new RegExp(`"${code}":([0-9.]+)`).exec(OPEN_ER_FIXTURE)![1]!;

/** The open.er-api fixture as if published this hour: the same rates, digit for digit; only its update times moved (the warehouse serves rates in force now). */
function openErNow(): Buffer {
  const hour = Math.floor(Date.now() / 3_600_000) * 3600;
  const utc = (unix: number) => new Date(unix * 1000).toUTCString().replace('GMT', '+0000');
  return Buffer.from(
    OPEN_ER_FIXTURE.replace(/"time_last_update_unix":\d+/, `"time_last_update_unix":${hour}`)
      .replace(/"time_last_update_utc":"[^"]+"/, `"time_last_update_utc":"${utc(hour)}"`)
      .replace(/"time_next_update_unix":\d+/, `"time_next_update_unix":${hour + 86_400}`)
      .replace(/"time_next_update_utc":"[^"]+"/, `"time_next_update_utc":"${utc(hour + 86_400)}"`),
  );
}

/** An HTTP server on 127.0.0.1 answering paths with files, as the provider would. */
async function fileServer(files: Record<string, Buffer>): Promise<{ origin: string; close: () => Promise<void> }> {
  const server = createServer((request, response) => {
    const body = files[request.url ?? ''];
    response.writeHead(body ? 200 : 404, { 'content-type': 'application/json' }).end(body ?? '');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A port nothing listens on at 127.0.0.1 now. */
async function unusedPort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function setting(url: string | pg.ClientConfig, name: string): Promise<string> {
  const client = await connect(url);
  try {
    return (await client.query<{ v: string }>('select current_setting($1) as v', [name])).rows[0]!.v;
  } finally {
    await client.end();
  }
}

/** The "  Name   value" lines under "Make.com PostgreSQL connection:". */
function makeFields(stdout: string): Record<string, string> {
  const block = stdout.split('Make.com PostgreSQL connection:\n')[1] ?? '';
  const fields: Record<string, string> = {};
  for (const line of block.split('\n')) {
    const match = /^ {2}(Host|Port|Database name|User name|Password|Encrypt) +(.+)$/.exec(line);
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

/** psql (libpq, as most clients) with a conninfo string; its exit code and what it said. */
async function psql(conninfo: string, password: string, sql: string): Promise<{ ok: boolean; out: string }> {
  try {
    const { stdout } = await run('psql', [conninfo, '-X', '-A', '-t', '-c', sql], {
      env: { ...process.env, PGPASSWORD: password, PGCONNECT_TIMEOUT: '10' },
    });
    return { ok: true, out: stdout.trim() };
  } catch (error) {
    return { ok: false, out: String((error as { stderr?: string }).stderr ?? error).trim() };
  }
}

/** The certificate the server presents to a node-postgres client, as SHA-256 fingerprint. */
async function presentedFingerprint(config: pg.ClientConfig): Promise<string> {
  const client = new pg.Client({ connectionTimeoutMillis: 10_000, ...config });
  await client.connect();
  try {
    const socket = (client as unknown as { connection: { stream: TLSSocket } }).connection.stream;
    return new X509Certificate(socket.getPeerX509Certificate()!.raw).fingerprint256;
  } finally {
    await client.end();
  }
}

describe.skipIf(process.env.DATABASE_URL)('db start --listen: the embedded server reachable by Make.com, over TLS', () => {
  const home = path.join(scratchDir(), '.fxpipe');
  const env = { FXPIPE_HOME: home };
  const reader = uniqueRole();
  const readerPassword = `listen-${reader}`;
  let ownerUrl: string;
  let ownerPassword: string;
  let port: number;
  let listening: ReturnType<typeof startCli> | undefined;
  const remote = () => ({ host: remoteAddress, port, database: 'fxpipe', user: reader, password: readerPassword });

  beforeAll(async () => {
    expect((await runCli(['db', 'init'], { env })).code).toBe(0);
    ownerUrl = (await runCli(['db', 'url'], { env })).stdout.trim();
    ownerPassword = decodeURIComponent(new URL(ownerUrl).password);
    port = Number(new URL(ownerUrl).port);
    // Rates in force now, loaded by the real pipeline from open.er-api's format.
    const files = await fileServer({ '/v6/latest/USD': openErNow() });
    const db = await openDb(await resolveTarget({ home, databaseUrl: undefined, embeddedPort: undefined }));
    try {
      const result = await manualRun(db, 'open-er-api', { baseUrl: files.origin }, () => new Date());
      expect(result).toMatchObject({ status: 'loaded' });
    } finally {
      await db.close();
      await files.close();
    }
  });
  afterAll(async () => {
    listening?.kill('SIGINT');
    if (listening) await finished(listening);
    await stopEmbedded(home);
  });

  it('db start without --listen stays on 127.0.0.1 and takes unencrypted connections there', async () => {
    const server = startCli(['db', 'start'], { env });
    await waitForOutput(server, 'Press Ctrl-C');
    expect(server.out.stdout).toContain(`PostgreSQL already running on 127.0.0.1:${port}`);
    expect(server.out.stdout).not.toContain('Note:');
    server.kill('SIGINT');
    expect((await finished(server)).code).toBe(0);
    expect(await setting(ownerUrl, 'listen_addresses')).toBe('127.0.0.1');
    expect(await setting(ownerUrl, 'ssl')).toBe('on');
    await expect(connect({ host: remoteAddress, port, user: 'fxpipe', database: 'fxpipe', password: 'x' })).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
  });

  it(`db start --listen ${remoteAddress} restarts it there with TLS and prints the Make.com fields with Encrypt: Yes and the certificate's fingerprint`, async () => {
    expect(
      (
        await runCli(
          [
            'db',
            'grant-reader',
            reader,
            '--password-file',
            passwordFile(readerPassword),
            '--statement-timeout',
            '2s',
            '--idle-in-transaction-timeout',
            '2s',
          ],
          { env },
        )
      ).code,
    ).toBe(0);
    listening = startCli(['db', 'start', '--listen', remoteAddress], { env });
    await waitForOutput(listening, 'Press Ctrl-C');
    const out = listening.out.stdout;
    expect(out).toMatch(
      new RegExp(
        `^PostgreSQL restarted \\(its open sessions were closed\\), listening on 127\\.0\\.0\\.1,127\\.0\\.0\\.2 port ${port}, TLS \\(1\\.2 or newer\\) and a password \\(scram-sha-256\\) required for every TCP connection`,
      ),
    );
    const fields = makeFields(out);
    expect(Object.keys(fields)).toEqual(['Host', 'Port', 'Database name', 'User name', 'Password', 'Encrypt']);
    expect(fields.Host).toMatch(/^127\.0\.0\.2 \(this machine\)/);
    expect(fields.Port).toBe(
      `${port} (kept across stops and starts: recorded in ${path.join(home, 'port')}; --port N or FXPIPE_PORT moves it)`,
    );
    expect(fields['User name']).toMatch(new RegExp(`^${reader} \\(readers of this database: .*${reader}`));
    expect(fields.Encrypt).toMatch(/^Yes \(TLS; the certificate is self-signed/);
    expect(out).not.toContain(ownerPassword);

    const tls = tlsPaths(home);
    const cert = new X509Certificate(readFileSync(tls.cert));
    expect(out).toContain(`SHA-256 fingerprint ${cert.fingerprint256}`);
    expect(out).toContain('renew it: fxpipe db renew-cert');
    expect(cert.subjectAltName).toContain('IP Address:127.0.0.2');
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    const serverUser = await runAs();
    const key = statSync(tls.key);
    expect({ mode: key.mode & 0o777, uid: key.uid }).toEqual({ mode: 0o600, uid: serverUser.uid ?? process.getuid!() });
    expect(
      await setting(
        { host: '127.0.0.1', port, user: 'fxpipe', password: ownerPassword, database: 'fxpipe', ssl: { rejectUnauthorized: false } },
        'ssl_min_protocol_version',
      ),
    ).toBe('TLSv1.2');
  });

  it('pg_hba.conf: TLS and a password for every TCP connection, first; nothing trusted', () => {
    const lines = activeHbaLines(home);
    expect(lines.slice(0, 2)).toEqual(['hostnossl all all all reject', 'hostssl all all all scram-sha-256']);
    for (const line of lines) expect(line).toMatch(/ (scram-sha-256|reject)$/);
  });

  it(`psql to ${remoteAddress}: sslmode=disable is refused, require connects over TLS (pg_stat_ssl), verify-full trusts the generated certificate`, async () => {
    const base = `host=${remoteAddress} port=${port} dbname=fxpipe user=${reader}`;
    const plain = await psql(`${base} sslmode=disable`, readerPassword, 'select 1');
    expect(plain).toEqual({ ok: false, out: matcher.stringMatching(/pg_hba\.conf rejects connection .*no encryption/) });

    const required = await psql(
      `${base} sslmode=require`,
      readerPassword,
      'select ssl, version from pg_stat_ssl where pid = pg_backend_pid()',
    );
    expect(required.ok, required.out).toBe(true);
    expect(required.out).toMatch(/^t\|TLSv1\.[23]$/);

    const rootCert = tlsPaths(home).cert;
    const verified = await psql(
      `${base} sslmode=verify-full sslrootcert=${rootCert}`,
      readerPassword,
      `select rate from api.convert(100, 'USD', 'EUR')`,
    );
    expect(verified.ok, verified.out).toBe(true);
    expect(verified.out).toBe(published('EUR'));
    // The same server under a name the certificate does not carry (hostaddr connects, host is what is verified).
    const otherName = await psql(
      `host=db.example.test hostaddr=${remoteAddress} port=${port} dbname=fxpipe user=${reader} sslmode=verify-full sslrootcert=${rootCert}`,
      readerPassword,
      'select 1',
    );
    expect(otherName).toEqual({ ok: false, out: matcher.stringMatching(/does not match host name "db\.example\.test"/) });
  });

  it("fxpipe's own commands keep working while it listens (over TLS on 127.0.0.1)", async () => {
    const status = await runCli(['status', '--json'], { env });
    expect(status.code, status.stderr).toBe(0);
    const client = await connect({
      host: '127.0.0.1',
      port,
      user: 'fxpipe',
      password: ownerPassword,
      database: 'fxpipe',
      ssl: false,
    }).catch((error: unknown) => error);
    expect(client).toMatchObject({ code: '28000' });
  });

  it('as the reader over TLS: pg_sleep(40) is cancelled by its limit even after set statement_timeout = 0 and alter role … reset', async () => {
    const client = await connect({ ...remote(), ssl: { rejectUnauthorized: false } });
    try {
      await client.query('set statement_timeout = 0');
      let started = Date.now();
      expect(await sqlState(client, 'select pg_sleep(40)')).toBe('57014');
      expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
      await client.query(`alter role ${reader} reset all`);
      await client.query('set statement_timeout = 0');
      started = Date.now();
      expect(await sqlState(client, 'select pg_sleep(40)')).toBe('57014');
      expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
      const { rows } = await client.query<{ rate: string }>(`select rate::text from api.convert(100, 'USD', 'JPY')`);
      expect(rows[0]!.rate).toBe(published('JPY'));
    } finally {
      await client.end();
    }
    const log = readFileSync(path.join(home, 'watchdog.log'), 'utf8');
    expect(log).toContain(`"role":"${reader}"`);
    expect(log).toContain('reader query cancelled');
  }, 60_000);

  it('as the reader: idle in a transaction past its limit ends the session, even with the setting lifted', async () => {
    const client = await connect({ ...remote(), ssl: { rejectUnauthorized: false } });
    const ended = new Promise((resolve) => client.on('error', resolve));
    await client.query('set idle_in_transaction_session_timeout = 0');
    await client.query('begin');
    await client.query('select 1');
    expect(await ended).toMatchObject({ code: '57P01' });
    await client.end().catch(() => undefined);
  }, 30_000);

  it('as the reader: the 11th connection is refused, and so is a temporary table', async () => {
    const clients: pg.Client[] = [];
    try {
      for (let i = 0; i < 10; i++) clients.push(await connect({ ...remote(), ssl: { rejectUnauthorized: false } }));
      await expect(connect({ ...remote(), ssl: { rejectUnauthorized: false } })).rejects.toMatchObject({
        code: '53300',
        message: matcher.stringContaining(`too many connections for role "${reader}"`),
      });
      expect(await sqlState(clients[0]!, 'create temp table scratch (a int)')).toBe('42501');
    } finally {
      await Promise.all(clients.map((client) => client.end()));
    }
  });

  it('db check-remote: every check passes with the certificate as root; without it, an untrusted certificate is a warning', async () => {
    const pw = passwordFile(readerPassword);
    const args = ['db', 'check-remote', '--host', remoteAddress, '--port', String(port), '--user', reader, '--password-file', pw];
    const trusted = await runCli([...args, '--ca', tlsPaths(home).cert, '--json'], { env });
    expect(trusted.code, trusted.stdout + trusted.stderr).toBe(0);
    const report = JSON.parse(trusted.stdout) as { ok: boolean; checks: { name: string; ok: boolean | null; detail: string }[] };
    expect(report.ok).toBe(true);
    expect(Object.fromEntries(report.checks.map((c) => [c.name, c.ok]))).toEqual({
      'unencrypted refused': true,
      certificate: true,
      TLS: true,
      'api.convert': true,
      'functions listed': true,
      'only api readable': true,
      'other databases': true,
      limits: true,
      'temp file limit': true,
    });
    expect(report.checks.find((c) => c.name === 'other databases')!.detail).toBe(
      `${reader} connects to no other database (tried postgres, template1)`,
    );
    const convert = /= ([0-9.]+) \(rate ([0-9.]+)\)$/.exec(report.checks.find((c) => c.name === 'api.convert')!.detail)!;
    expect(convert[2]).toBe(published('EUR'));
    expect(new Decimal(convert[1]!).eq(new Decimal(published('EUR')).times(100))).toBe(true);
    expect(report.checks.find((c) => c.name === 'functions listed')!.detail).toMatch(/api\.convert \(\d+ parameters\)/);
    const untrusted = await runCli(args, { env });
    expect(untrusted.code).toBe(0);
    expect(untrusted.stdout).toMatch(/^ {2}! certificate +not trusted by this machine's CAs/m);
    expect(untrusted.stdout).toContain('Ready for a Make.com connection with Encrypt: Yes.');
    expect(untrusted.stdout).not.toContain(readerPassword);
  });

  it('db renew-cert: a new certificate, reloaded by the running server without a restart', async () => {
    const before = new X509Certificate(readFileSync(tlsPaths(home).cert)).fingerprint256;
    const pid = (await readRunning(embeddedPaths(home).dataDir))!.pid;
    const renewed = await runCli(['db', 'renew-cert', '--json'], { env });
    expect(renewed.code, renewed.stderr).toBe(0);
    const result = JSON.parse(renewed.stdout) as { fingerprint: string; reloaded: boolean; names: string[] };
    expect(result.fingerprint).not.toBe(before);
    expect(result).toMatchObject({ reloaded: true, names: matcher.arrayContaining(['127.0.0.2', '127.0.0.1', 'localhost']) });
    expect(await presentedFingerprint({ ...remote(), ssl: { ca: readFileSync(tlsPaths(home).cert, 'utf8') } })).toBe(result.fingerprint);
    expect((await readRunning(embeddedPaths(home).dataDir))!.pid).toBe(pid);
  });

  it("a given certificate and key are used; a key that is not the certificate's is refused with one line, nothing changed", async () => {
    listening!.kill('SIGINT');
    await finished(listening!);
    listening = undefined;
    const dir = scratchDir('fxpipe-ca-');
    const ca = await generate([{ name: 'commonName', value: 'fxpipe test CA' }], {
      keyType: 'ec',
      algorithm: 'sha256',
      extensions: [
        { name: 'basicConstraints', cA: true, critical: true },
        { name: 'keyUsage', keyCertSign: true, digitalSignature: true, critical: true },
      ],
    });
    const leaf = await generate([{ name: 'commonName', value: 'make.example.test' }], {
      keyType: 'ec',
      algorithm: 'sha256',
      ca: { key: ca.private, cert: ca.cert },
      extensions: [
        {
          name: 'subjectAltName',
          altNames: [
            { type: 2, value: 'make.example.test' },
            { type: 7, ip: remoteAddress },
          ],
        },
        { name: 'extKeyUsage', serverAuth: true },
      ],
    });
    const files = { cert: path.join(dir, 'leaf.crt'), key: path.join(dir, 'leaf.key'), otherKey: path.join(dir, 'other.key') };
    writeFileSync(files.cert, leaf.cert);
    writeFileSync(files.key, leaf.private, { mode: 0o600 });
    writeFileSync(files.otherKey, ca.private, { mode: 0o600 });
    const ownBefore = readFileSync(tlsPaths(home).cert, 'utf8');

    const wrong = await runCli(['db', 'start', '--listen', remoteAddress, '--tls-cert', files.cert, '--tls-key', files.otherKey], { env });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr.trim().split('\n')).toEqual([`fxpipe: ${files.otherKey} is not the key of the certificate in ${files.cert}`]);
    expect(readFileSync(tlsPaths(home).cert, 'utf8')).toBe(ownBefore);

    listening = startCli(['db', 'start', '--listen', remoteAddress, '--tls-cert', files.cert, '--tls-key', files.key], { env });
    await waitForOutput(listening, 'Press Ctrl-C');
    expect(listening.out.stdout).toContain(`TLS certificate: ${files.cert} (copied to ${tlsPaths(home).cert})`);
    expect(makeFields(listening.out.stdout).Encrypt).toBe('Yes (TLS; the certificate given)');
    const presented = await presentedFingerprint({ ...remote(), ssl: { ca: ca.cert } });
    expect(presented).toBe(new X509Certificate(leaf.cert).fingerprint256);
    writeFileSync(path.join(dir, 'ca.crt'), ca.cert);
    const again = await psql(
      `host=${remoteAddress} port=${port} dbname=fxpipe user=${reader} sslmode=verify-full sslrootcert=${path.join(dir, 'ca.crt')}`,
      readerPassword,
      'select 1',
    );
    expect(again).toEqual({ ok: true, out: '1' });
  });

  it('db stop, then any command: the server is back on the same port, loopback-only, its watchdog with it', async () => {
    listening!.kill('SIGINT');
    await finished(listening!);
    listening = undefined;
    const watchdog = await runningWatchdog(home);
    expect(watchdog).not.toBeNull();
    expect((await runCli(['db', 'stop'], { env })).code).toBe(0);
    for (let i = 0; i < 50 && (await runningWatchdog(home)) !== null; i++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await runningWatchdog(home)).toBeNull();
    const url = (await runCli(['db', 'url'], { env })).stdout.trim();
    expect(Number(new URL(url).port)).toBe(port);
    expect(await setting(url, 'listen_addresses')).toBe('127.0.0.1');
    expect(activeHbaLines(home).join('\n')).not.toContain('hostnossl');
    expect(await runningWatchdog(home)).not.toBeNull();
  });

  it(`db start --listen ${remoteAddress} --port N moves the running server in its one restart; later commands reach it there; a port taken or out of range changes nothing`, async () => {
    const moved = await unusedPort();
    const ownerAt = (at: number) => ({
      host: '127.0.0.1',
      port: at,
      user: 'fxpipe',
      password: ownerPassword,
      database: 'fxpipe',
      ssl: { rejectUnauthorized: false },
    });
    listening = startCli(['db', 'start', '--listen', remoteAddress, '--port', String(moved)], { env });
    await waitForOutput(listening, 'Press Ctrl-C');
    const out = listening.out.stdout;
    expect(out).toMatch(
      new RegExp(
        `^PostgreSQL restarted \\(its open sessions were closed\\), moved from port ${port} to ${moved}, listening on 127\\.0\\.0\\.1,127\\.0\\.0\\.2 port ${moved}, TLS`,
      ),
    );
    expect(out).not.toContain('already running on port');
    expect(makeFields(out).Port).toMatch(new RegExp(`^${moved} \\(kept across stops and starts`));
    expect(readFileSync(embeddedPaths(home).portFile, 'utf8').trim()).toBe(String(moved));
    expect(
      await psql(`host=${remoteAddress} port=${moved} dbname=fxpipe user=${reader} sslmode=require`, readerPassword, 'select 1'),
    ).toEqual({ ok: true, out: '1' });
    expect(new URL((await runCli(['db', 'url'], { env })).stdout.trim()).port).toBe(String(moved));
    const status = await runCli(['status', '--json'], { env });
    expect(status.code, status.stderr).toBe(0);
    expect(await runningWatchdog(home)).not.toBeNull();

    // Bad input: one line, exit 2, the server left where it runs.
    const squatter = createNetServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const taken = (squatter.address() as AddressInfo).port;
    try {
      for (const listen of [[], ['--listen', remoteAddress]]) {
        const refused = await runCli(['db', 'start', ...listen, '--port', String(taken)], { env });
        expect(refused).toMatchObject({ code: 2, stdout: '' });
        expect(refused.stderr).toBe(
          `fxpipe: port ${taken} on 127.0.0.1 is taken by another program: the embedded server keeps running on port ${moved}, unchanged; free it, or choose another with --port N\n`,
        );
      }
    } finally {
      squatter.close();
    }
    const outOfRange = await runCli(['db', 'start', '--listen', remoteAddress, '--port', '70000'], { env });
    expect(outOfRange).toMatchObject({
      code: 2,
      stdout: '',
      stderr: 'fxpipe: invalid --port "70000": expected a whole number from 1 to 65535\n',
    });
    expect((await readRunning(embeddedPaths(home).dataDir))?.port).toBe(moved);
    expect(readFileSync(embeddedPaths(home).portFile, 'utf8').trim()).toBe(String(moved));
    expect(await setting(ownerAt(moved), 'listen_addresses')).toBe('127.0.0.1,127.0.0.2');

    // Without --listen, --port alone moves it back, listening where it listened.
    listening.kill('SIGINT');
    await finished(listening);
    listening = undefined;
    const back = startCli(['db', 'start', '--port', String(port)], { env });
    await waitForOutput(back, 'Press Ctrl-C');
    back.kill('SIGINT');
    const backOut = (await finished(back)).stdout.split('\n');
    expect(backOut[0]).toBe(
      `PostgreSQL restarted on 127.0.0.1:${port} (moved from port ${moved} to ${port}; its open sessions were closed), data in ${embeddedPaths(home).dataDir}`,
    );
    expect(backOut).toContain(
      `Note: it also listens on 127.0.0.1,127.0.0.2 (db start --listen); \`fxpipe db stop\` and start it again for loopback only.`,
    );
    expect(readFileSync(embeddedPaths(home).portFile, 'utf8').trim()).toBe(String(port));
    expect((await runCli(['db', 'stop'], { env })).stdout).toBe('Stopped the embedded PostgreSQL.\n');
    expect(new URL((await runCli(['db', 'url'], { env })).stdout.trim()).port).toBe(String(port));
  });

  it('refuses anything but an IP address of this machine, 0.0.0.0, :: or *, and a certificate without its key, before touching the server', async () => {
    const untouched = path.join(scratchDir(), '.fxpipe');
    for (const value of ["0.0.0.0' -c ssl=off", 'x; rm -rf /', '300.1.1.1', 'localhost', '192.0.2.250', '']) {
      const result = await runCli(['db', 'start', '--listen', value], { env: { FXPIPE_HOME: untouched } });
      expect(result.code, value).toBe(2);
      expect(result.stderr.trim().split('\n'), value).toEqual([
        expect.stringMatching(/^fxpipe: invalid --listen .*(expected an IP address|not an address of this machine)/),
      ]);
    }
    const halfTls = await runCli(['db', 'start', '--listen', '0.0.0.0', '--tls-cert', '/nonexistent.crt'], {
      env: { FXPIPE_HOME: untouched },
    });
    expect(halfTls.code).toBe(2);
    expect(halfTls.stderr.trim()).toBe('fxpipe: a TLS certificate without its key: give --tls-key (or FXPIPE_TLS_KEY) too');
    expect(existsSync(untouched)).toBe(false);
    const withUrl = await runCli(['db', 'start', '--listen', '0.0.0.0'], {
      env: { FXPIPE_HOME: untouched, DATABASE_URL: 'postgres://x:y@127.0.0.1:1/x' },
    });
    expect(withUrl.code).toBe(2);
    expect(withUrl.stderr).toMatch(/^fxpipe: DATABASE_URL is set/);
    if (externalAddress) expect(reachableHosts('0.0.0.0')).toContain(externalAddress);
  });
});
