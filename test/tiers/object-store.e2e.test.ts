import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode, FxpipeError } from '../../src/errors.js';
import { LocalStore } from '../../src/tiers/local-store.js';
import type { ObjectStore } from '../../src/tiers/object-store.js';
import { openObjectStore } from '../../src/tiers/open-store.js';
import { S3Store } from '../../src/tiers/s3-store.js';

const BUCKET = 'fxpipe-test';
/** s3rver's built-in account. */
const ACCESS_KEY = 'S3RVER';
const SECRET_KEY = 'S3RVER';

const scratch = mkdtempSync(path.join(tmpdir(), 'fxpipe-objstore-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let serial = 0;
function scratchFile(content: Buffer | string): string {
  const file = path.join(scratch, `in-${++serial}.bin`);
  writeFileSync(file, content);
  return file;
}
const outFile = () => path.join(scratch, `out-${++serial}.bin`);

/** Env for an S3 store on the local s3rver: explicit credentials and endpoint, so the SDK never looks elsewhere (no IMDS). */
function s3Env(port: number, overrides: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: ACCESS_KEY,
    AWS_SECRET_ACCESS_KEY: SECRET_KEY,
    AWS_EC2_METADATA_DISABLED: 'true',
    ...overrides,
  };
}

/**
 * s3rver runs in a child process with --openssl-legacy-provider: it signs ListObjectsV2 continuation tokens with DES,
 * which OpenSSL 3 only offers through the legacy provider (without it every truncated listing is an HTTP 500).
 * The child exits when its stdin closes, so it never outlives the test process.
 */
const S3RVER_CHILD = `
const S3rver = require('s3rver');
const [directory, bucket] = process.argv.slice(1);
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket }] });
server.run().then((address) => process.stdout.write(JSON.stringify({ port: address.port }) + '\\n'));
const stop = () => server.close().finally(() => process.exit(0));
process.stdin.on('end', stop).resume();
process.on('SIGTERM', stop);
`;

let child: ChildProcess | undefined;
let port = 0;
const opened: ObjectStore[] = [];

beforeAll(async () => {
  const directory = mkdtempSync(path.join(scratch, 's3rver-'));
  child = spawn(process.execPath, ['--openssl-legacy-provider', '-e', S3RVER_CHILD, directory, BUCKET], {
    cwd: path.resolve(import.meta.dirname, '../..'),
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const started = child;
  port = await new Promise<number>((resolve, reject) => {
    let out = '';
    started.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve((JSON.parse(line) as { port: number }).port);
    });
    started.once('exit', (code) => reject(new Error(`s3rver exited with code ${code}`)));
    started.once('error', reject);
  });
});
afterAll(async () => {
  for (const store of opened) if (store instanceof S3Store) store.close();
  if (child && child.exitCode === null) {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  }
});

function open(dest: string, env: NodeJS.ProcessEnv): ObjectStore {
  const store = openObjectStore(dest, env);
  opened.push(store);
  return store;
}

async function caught(promise: Promise<unknown>): Promise<FxpipeError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(FxpipeError);
    return error as FxpipeError;
  }
  throw new Error('expected a rejection');
}

interface Flavour {
  name: string;
  /** A fresh, empty store (its own directory / prefix). */
  make(): ObjectStore;
  uriPattern: (store: ObjectStore, key: string) => string;
}

let instance = 0;
const flavours: Flavour[] = [
  {
    name: 'LocalStore',
    make: () => open(path.join(scratch, `local-${++instance}`, 'archive'), {}),
    uriPattern: (store, key) => new URL(`file://${path.join((store as LocalStore).dir, ...key.split('/'))}`).href,
  },
  {
    name: 'S3Store (s3rver)',
    make: () => open(`s3://${BUCKET}/run-${++instance}/archive`, s3Env(port)),
    uriPattern: (store, key) => `${store.root}/${key}`,
  },
];

describe.each(flavours)('$name contract', (flavour) => {
  it('put / head / get round-trip byte-identical content, replacing on a second put', async () => {
    const store = flavour.make();
    const key = 'fact_rates_history/year=2024/month=03/part-0.parquet';
    const content = randomBytes(1000);
    expect(await store.put(scratchFile(content), key)).toEqual({ key, bytes: 1000 });
    expect(await store.head(key)).toEqual({ key, bytes: 1000 });
    const out = outFile();
    expect(await store.get(key, out)).toEqual({ key, bytes: 1000 });
    expect(readFileSync(out).equals(content)).toBe(true);

    const replacement = Buffer.from('shorter');
    expect(await store.put(scratchFile(replacement), key)).toEqual({ key, bytes: 7 });
    expect(await store.head(key)).toEqual({ key, bytes: 7 });
    await store.get(key, out); // overwrites an existing local file
    expect(readFileSync(out).toString()).toBe('shorter');
  });

  it('round-trips a few MB of binary data and an empty file', async () => {
    const store = flavour.make();
    const big = randomBytes(5 * 1024 * 1024 + 123);
    expect(await store.put(scratchFile(big), 'big/blob.bin')).toEqual({ key: 'big/blob.bin', bytes: big.length });
    expect(await store.head('big/blob.bin')).toEqual({ key: 'big/blob.bin', bytes: big.length });
    const out = outFile();
    await store.get('big/blob.bin', out);
    expect(statSync(out).size).toBe(big.length);
    expect(readFileSync(out).equals(big)).toBe(true);

    expect(await store.put(scratchFile(Buffer.alloc(0)), 'empty')).toEqual({ key: 'empty', bytes: 0 });
    const emptyOut = outFile();
    expect(await store.get('empty', emptyOut)).toEqual({ key: 'empty', bytes: 0 });
    expect(readFileSync(emptyOut).length).toBe(0);
  });

  it('lists keys under a string prefix, sorted, relative to the store root', async () => {
    const store = flavour.make();
    const keys = [
      't/year=2024/month=01/part-0.parquet',
      't/year=2024/month=02/part-0.parquet',
      't/year=2025/month=01/part-0.parquet',
      'u/x',
      'tz',
    ];
    for (const [i, key] of keys.entries()) await store.put(scratchFile('x'.repeat(i + 1)), key);
    expect(await store.list('')).toEqual([...keys].sort().map((key) => ({ key, bytes: keys.indexOf(key) + 1 })));
    expect((await store.list('t/')).map((o) => o.key)).toEqual(keys.slice(0, 3));
    expect((await store.list('t')).map((o) => o.key)).toEqual([...keys.slice(0, 3), 'tz']);
    expect((await store.list('t/year=2024/')).map((o) => o.key)).toEqual(keys.slice(0, 2));
    expect((await store.list('t/year=2024/month=0')).map((o) => o.key)).toEqual(keys.slice(0, 2));
    expect(await store.list('nothing/here/')).toEqual([]);
    expect(await store.list('t/year=2024/month=01/part-0.parquet')).toEqual([{ key: keys[0], bytes: 1 }]);
  });

  it('keeps stores with different roots apart', async () => {
    const a = flavour.make();
    const b = flavour.make();
    await a.put(scratchFile('a'), 'same/key');
    expect(await b.head('same/key')).toBeNull();
    expect(await b.list('')).toEqual([]);
  });

  it('delete removes a key; deleting a missing key succeeds', async () => {
    const store = flavour.make();
    await store.put(scratchFile('abc'), 'd/one');
    await store.put(scratchFile('abcd'), 'd/two');
    await store.delete('d/one');
    expect(await store.head('d/one')).toBeNull();
    expect(await store.list('d/')).toEqual([{ key: 'd/two', bytes: 4 }]);
    await store.delete('d/one');
    await store.delete('never/existed');
  });

  it('a missing key: head is null, get throws naming the key and leaves no local file', async () => {
    const store = flavour.make();
    expect(await store.head('missing/key.parquet')).toBeNull();
    const out = outFile();
    const error = await caught(store.get('missing/key.parquet', out));
    expect(error.message).toContain('no such object');
    expect(error.message).toContain(store.uri('missing/key.parquet'));
    expect(error.message).not.toContain('\n');
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(scratch).filter((name) => name.startsWith('.fxpipe-tmp-'))).toEqual([]);
  });

  it('uri() names the object as archive_manifest records it', () => {
    const store = flavour.make();
    expect(store.uri('a/b/c.parquet')).toBe(flavour.uriPattern(store, 'a/b/c.parquet'));
  });

  it('rejects keys that could escape the root', async () => {
    const store = flavour.make();
    for (const key of ['', '/abs', '../up', 'a/../../b', 'a//b', 'a/./b', 'a\\b', '.fxpipe-tmp-x']) {
      expect(() => store.uri(key), key).toThrow(/invalid object key/);
      await expect(store.put(scratchFile('x'), key), key).rejects.toThrow(/invalid object key/);
    }
  });

  it('put of a missing local file fails with one line and stores nothing', async () => {
    const store = flavour.make();
    const error = await caught(store.put(path.join(scratch, 'no-such-file'), 'k'));
    expect(error.message).toContain('no-such-file');
    expect(error.message).not.toContain('\n');
    expect(await store.head('k')).toBeNull();
  });
});

describe('LocalStore specifics', () => {
  it('writes through a temp file in the same directory and leaves none behind; uri is a file:// URL', async () => {
    const store = open(path.join(scratch, 'local-specific'), {}) as LocalStore;
    expect(store).toBeInstanceOf(LocalStore);
    await store.put(scratchFile('hello'), 'p/q/r.txt');
    const dir = path.join(store.dir, 'p', 'q');
    expect(readdirSync(dir)).toEqual(['r.txt']);
    expect(fileURLToPath(store.uri('p/q/r.txt'))).toBe(path.join(dir, 'r.txt'));
    expect(store.uri('p/q/r.txt')).toMatch(/^file:\/\/\//);
    // A leftover temp file from a killed put is invisible to list.
    writeFileSync(path.join(dir, '.fxpipe-tmp-r.txt.123.abc'), 'partial');
    expect(await store.list('')).toEqual([{ key: 'p/q/r.txt', bytes: 5 }]);
  });

  it('openObjectStore creates the directory, and accepts file:// URLs', () => {
    const dir = path.join(scratch, 'created', 'deep');
    const store = open(dir, {});
    expect(existsSync(dir)).toBe(true);
    expect(store.root).toBe(dir);
    const viaUrl = open(new URL(`file://${path.join(scratch, 'via-url')}`).href, {}) as LocalStore;
    expect(viaUrl.dir).toBe(path.join(scratch, 'via-url'));
    expect(existsSync(viaUrl.dir)).toBe(true);
  });
});

describe('S3Store specifics', () => {
  it('openObjectStore parses s3://bucket/prefix and keeps root as written', () => {
    const store = open(`s3://${BUCKET}/some/prefix/`, s3Env(port)) as S3Store;
    expect(store).toBeInstanceOf(S3Store);
    expect(store.root).toBe(`s3://${BUCKET}/some/prefix/`);
    expect(store.bucket).toBe(BUCKET);
    expect(store.prefix).toBe('some/prefix');
    expect(store.uri('k/x.parquet')).toBe(`s3://${BUCKET}/some/prefix/k/x.parquet`);
    const whole = open(`s3://${BUCKET}`, s3Env(port)) as S3Store;
    expect(whole.uri('k')).toBe(`s3://${BUCKET}/k`);
  });

  it('reads region and endpoint from the AWS variables, preferring the S3-specific endpoint', () => {
    const store = open(`s3://${BUCKET}/p`, {
      ...s3Env(port),
      AWS_REGION: '',
      AWS_DEFAULT_REGION: 'eu-west-2',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:1',
      AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${port}`,
    }) as S3Store;
    expect(store.settings.region).toBe('eu-west-2');
    expect(store.settings.endpoint).toBe(`http://127.0.0.1:${port}`);
    const defaults = open(`s3://${BUCKET}/p`, { AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b' }) as S3Store;
    expect(defaults.settings.region).toBe('us-east-1');
    expect(defaults.settings.endpoint).toBeUndefined();
  });

  it('pages through ListObjectsV2 beyond 1000 keys', async () => {
    const store = open(`s3://${BUCKET}/paging-${++instance}`, s3Env(port));
    const file = scratchFile('p');
    const keys = Array.from({ length: 1005 }, (_, i) => `k/${String(i).padStart(5, '0')}`);
    for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map((key) => store.put(file, key)));
    const listed = await store.list('k/');
    expect(listed).toHaveLength(1005);
    expect(listed.map((o) => o.key)).toEqual(keys);
  }, 120_000);

  it('an S3 error is one line naming bucket, key and code, never the secret key', async () => {
    // s3rver does not verify SigV4 signatures, only that the access key exists: an unknown key id gets InvalidAccessKeyId.
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzSECRET';
    const store = open(
      `s3://${BUCKET}/p`,
      s3Env(port, { AWS_ACCESS_KEY_ID: 'AKIDUNKNOWN', AWS_SECRET_ACCESS_KEY: secret, AWS_SESSION_TOKEN: 'SESSIONTOKENxyz' }),
    );
    const attempts: [string, () => Promise<unknown>][] = [
      ['PutObject', () => store.put(scratchFile('x'), 'k/secret.bin')],
      ['GetObject', () => store.get('k/secret.bin', outFile())],
      ['ListObjectsV2', () => store.list('k/')],
      ['DeleteObject', () => store.delete('k/secret.bin')],
    ];
    for (const [op, attempt] of attempts) {
      const error = await caught(attempt());
      expect(error.message).toMatch(new RegExp(`^S3 ${op} s3://${BUCKET}/p/k/(secret\\.bin)? failed: InvalidAccessKeyId \\(HTTP 403\\)`));
      expect(error.message).not.toContain(secret);
      expect(error.message).not.toContain('SESSIONTOKENxyz');
      expect(error.message).not.toContain('\n');
      expect(error.exitCode).toBe(ExitCode.usage);
    }
  });

  it('a missing bucket is named in a one-line error', async () => {
    const store = open('s3://no-such-bucket-here/p', s3Env(port));
    const error = await caught(store.put(scratchFile('x'), 'k'));
    expect(error.message).toMatch(/^S3 PutObject s3:\/\/no-such-bucket-here\/p\/k failed: NoSuchBucket \(HTTP 404\)/);
    expect(error.exitCode).toBe(ExitCode.usage);
  });

  it('an unreachable endpoint fails after retries with the network error code', async () => {
    const store = open(`s3://${BUCKET}/p`, s3Env(port, { AWS_ENDPOINT_URL: 'http://127.0.0.1:1' }));
    const error = await caught(store.head('k'));
    expect(error.message).toMatch(/^S3 HeadObject s3:\/\/fxpipe-test\/p\/k failed after 3 attempts: ECONNREFUSED/);
  }, 30_000);
});

describe('openObjectStore', () => {
  it.each([
    's3://',
    's3:///prefix',
    's3://Bad_Bucket/x',
    's3://b/x',
    's3:/bucket/x',
    's3://bucket/a//b',
    's3://bucket/../x',
    'gs://bucket/x',
    'https://example.com/x',
  ])('rejects %s with a usage error', (dest) => {
    let error: unknown;
    try {
      openObjectStore(dest, {});
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FxpipeError);
    expect((error as FxpipeError).exitCode).toBe(ExitCode.usage);
    expect((error as FxpipeError).message).toBe(`invalid --to ${JSON.stringify(dest)}: expected s3://bucket/prefix or a directory`);
  });

  it('never echoes credentials written into the URL', () => {
    expect(() => openObjectStore('s3://AKIA:topsecret@bucket/x', {})).toThrow(/^invalid --to "s3:\/\/bucket\/x"/);
    // A password with an @ of its own: the user-info runs to the authority's last @.
    expect(() => openObjectStore('s3://AKIA:top@secret@bucket/x', {})).toThrow(/^invalid --to "s3:\/\/bucket\/x"/);
  });

  it('rejects malformed AWS settings naming the variable', () => {
    expect(() => openObjectStore(`s3://${BUCKET}/p`, { AWS_ENDPOINT_URL: 'not a url' })).toThrow(
      /^invalid AWS_ENDPOINT_URL: "not a url" expected an http\(s\) URL/,
    );
    expect(() => openObjectStore(`s3://${BUCKET}/p`, { AWS_ACCESS_KEY_ID: 'AKIA' })).toThrow(
      /AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not/,
    );
    expect(() => openObjectStore(`s3://${BUCKET}/p`, { AWS_SECRET_ACCESS_KEY: 'shh' })).toThrow(
      /^AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not/,
    );
    expect(() => openObjectStore(`s3://${BUCKET}/p`, { AWS_REGION: 'Not A Region' })).toThrow(/^invalid AWS_REGION/);
  });

  it('rejects a file where a directory is expected', () => {
    const file = scratchFile('not a dir');
    expect(() => openObjectStore(file, {})).toThrow(/^invalid --to .*: /);
  });
});
