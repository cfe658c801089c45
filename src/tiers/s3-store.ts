import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { ExitCode, FxpipeError, oneLine, usageError } from '../errors.js';
import { checkKey, checkPrefix, compareKeys, fsyncDir, tempPathFor } from './local-store.js';
import type { ObjectStore, StoredObject } from './object-store.js';

/** Connection settings read from the usual AWS environment variables. */
export interface S3Settings {
  /** AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL: an S3-compatible store (MinIO, Ceph, s3rver…); addressed path-style. */
  endpoint?: string;
  /** AWS_REGION, else AWS_DEFAULT_REGION, else us-east-1. */
  region: string;
  /** AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN); absent: the SDK's default chain (profiles, SSO, instance roles). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

const nonEmpty = (value: string | undefined) => (value !== undefined && value.trim() !== '' ? value.trim() : undefined);

/** Reads S3Settings from env; throws a usage error naming the variable when one is malformed. */
export function s3SettingsFromEnv(env: NodeJS.ProcessEnv = process.env): S3Settings {
  const settings: S3Settings = { region: 'us-east-1' };
  const endpointVar = nonEmpty(env.AWS_ENDPOINT_URL_S3) !== undefined ? 'AWS_ENDPOINT_URL_S3' : 'AWS_ENDPOINT_URL';
  const endpoint = nonEmpty(env[endpointVar]);
  if (endpoint !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(endpoint);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.username !== '' || url.password !== '') {
      const shown = url && (url.username !== '' || url.password !== '') ? '' : ` ${JSON.stringify(endpoint)}`;
      throw usageError(`invalid ${endpointVar}:${shown} expected an http(s) URL such as http://127.0.0.1:9000`);
    }
    settings.endpoint = endpoint;
  }
  const regionVar = nonEmpty(env.AWS_REGION) !== undefined ? 'AWS_REGION' : 'AWS_DEFAULT_REGION';
  const region = nonEmpty(env[regionVar]);
  if (region !== undefined) {
    if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(region))
      throw usageError(`invalid ${regionVar}: ${JSON.stringify(region)} expected a region such as us-east-1`);
    settings.region = region;
  }
  const accessKeyId = nonEmpty(env.AWS_ACCESS_KEY_ID);
  const secretAccessKey = nonEmpty(env.AWS_SECRET_ACCESS_KEY);
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    throw usageError(
      `${accessKeyId === undefined ? 'AWS_SECRET_ACCESS_KEY' : 'AWS_ACCESS_KEY_ID'} is set but ${accessKeyId === undefined ? 'AWS_ACCESS_KEY_ID' : 'AWS_SECRET_ACCESS_KEY'} is not: set both or neither`,
    );
  }
  if (accessKeyId !== undefined && secretAccessKey !== undefined) {
    const sessionToken = nonEmpty(env.AWS_SESSION_TOKEN);
    settings.credentials = { accessKeyId, secretAccessKey, ...(sessionToken !== undefined ? { sessionToken } : {}) };
  }
  return settings;
}

/** S3 error codes that mean the bucket or the credentials are wrong, not the operation: exit code 2. */
const CONFIGURATION_CODES = new Set([
  'AccessDenied',
  'AllAccessDisabled',
  'AuthorizationHeaderMalformed',
  'ExpiredToken',
  'InvalidAccessKeyId',
  'InvalidBucketName',
  'InvalidToken',
  'NoSuchBucket',
  'PermanentRedirect',
  'SignatureDoesNotMatch',
  'TokenRefreshRequired',
]);
const RETRYABLE_CODES = new Set([
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'InternalError',
  'ServiceUnavailable',
]);
const ATTEMPTS = 3;

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  errors?: unknown[];
}

const statusOf = (error: unknown) => (error as SdkError | undefined)?.$metadata?.httpStatusCode;

/** The S3 error code (NoSuchKey, AccessDenied…), or the network error code (ECONNREFUSED…). */
function codeOf(error: unknown): string {
  const e = error as SdkError | undefined;
  if (e && typeof e === 'object') {
    if (typeof e.code === 'string' && e.code !== '') return e.code;
    const inner = Array.isArray(e.errors) ? (e.errors[0] as SdkError | undefined) : undefined;
    if (inner && typeof inner.code === 'string') return inner.code;
    if (typeof e.name === 'string' && e.name !== '' && e.name !== 'Error') return e.name;
  }
  return 'Error';
}

const isNotFound = (error: unknown) => statusOf(error) === 404 || ['NotFound', 'NoSuchKey'].includes(codeOf(error));

function isRetryable(error: unknown): boolean {
  if (error instanceof FxpipeError) return false;
  const status = statusOf(error);
  if (status === undefined) return true; // network error, timeout, reset mid-stream
  return status >= 500 || status === 429 || RETRYABLE_CODES.has(codeOf(error));
}

/** An S3 bucket, below an optional key prefix: key k is stored as prefix/k. */
export class S3Store implements ObjectStore {
  readonly root: string;
  readonly bucket: string;
  /** Without leading or trailing '/'; '' for the whole bucket. */
  readonly prefix: string;
  readonly settings: S3Settings;
  private readonly client: S3Client;
  private readonly secrets: string[];

  constructor(options: { bucket: string; prefix?: string; root?: string; settings: S3Settings }) {
    this.bucket = options.bucket;
    this.prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
    this.root = options.root ?? `s3://${this.bucket}${this.prefix === '' ? '' : `/${this.prefix}`}`;
    this.settings = options.settings;
    const { endpoint, region, credentials } = options.settings;
    this.secrets = [credentials?.secretAccessKey, credentials?.sessionToken].filter((s): s is string => s !== undefined && s !== '');
    const config: S3ClientConfig = {
      region,
      // Every call below retries itself with a fresh body stream: the SDK cannot rewind a consumed file stream.
      maxAttempts: 1,
      // The SDK's default CRC32 (aws-chunked with a trailer) is not understood by many S3-compatible stores: s3rver stores
      // the chunk framing as object bytes. Integrity comes from Content-MD5 on put and a size check after put and get.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { connectionTimeout: 10_000, socketTimeout: 120_000 },
    };
    if (endpoint !== undefined) {
      config.endpoint = endpoint;
      config.forcePathStyle = true;
    }
    if (credentials !== undefined) config.credentials = credentials;
    this.client = new S3Client(config);
  }

  /** The full S3 key of key. */
  objectKey(key: string): string {
    checkKey(key);
    return this.prefix === '' ? key : `${this.prefix}/${key}`;
  }

  uri(key: string): string {
    return `s3://${this.bucket}/${this.objectKey(key)}`;
  }

  /** Closes the client's sockets; the store is unusable afterwards. */
  close(): void {
    this.client.destroy();
  }

  async put(localFile: string, key: string): Promise<StoredObject> {
    const target = this.uri(key);
    const Key = this.objectKey(key);
    let size: number;
    let md5: string;
    try {
      size = (await stat(localFile)).size;
      const hash = createHash('md5');
      await pipeline(createReadStream(localFile), hash);
      md5 = hash.digest('base64');
    } catch (error) {
      throw new FxpipeError(`cannot upload ${localFile} to ${target}: ${oneLine(error)}`, { cause: error });
    }
    await this.retrying('PutObject', target, () =>
      this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key, Body: createReadStream(localFile), ContentLength: size, ContentMD5: md5 }),
      ),
    );
    const stored = await this.head(key);
    if (stored === null || stored.bytes !== size) {
      throw new FxpipeError(
        `S3 PutObject ${target}: the store reports ${stored === null ? 'no object' : `${stored.bytes} bytes`} after uploading ${size} bytes`,
      );
    }
    return { key, bytes: size };
  }

  async get(key: string, localFile: string): Promise<StoredObject> {
    const target = this.uri(key);
    const Key = this.objectKey(key);
    return this.retrying('GetObject', target, async () => {
      const temp = tempPathFor(localFile);
      try {
        const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key }));
        if (!(response.Body instanceof Readable)) throw new FxpipeError(`S3 GetObject ${target}: response has no body stream`);
        await pipeline(response.Body, createWriteStream(temp, { flags: 'wx' }));
        const handle = await open(temp, 'r');
        let bytes: number;
        try {
          await handle.sync();
          bytes = (await handle.stat()).size;
        } finally {
          await handle.close();
        }
        if (response.ContentLength !== undefined && bytes !== response.ContentLength) {
          // A cut-short body: retried like a network error.
          throw Object.assign(new Error(`received ${bytes} of ${response.ContentLength} bytes`), { code: 'ShortBody' });
        }
        await rename(temp, localFile);
        await fsyncDir(path.dirname(localFile));
        return { key, bytes };
      } catch (error) {
        await rm(temp, { force: true }).catch(() => undefined);
        throw error;
      }
    });
  }

  async head(key: string): Promise<StoredObject | null> {
    const Key = this.objectKey(key);
    try {
      const response = await this.retrying(
        'HeadObject',
        this.uri(key),
        () => this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key })),
        true,
      );
      return { key, bytes: response.ContentLength ?? 0 };
    } catch (error) {
      if (error instanceof NotFoundSignal) return null;
      throw error;
    }
  }

  async list(prefix: string): Promise<StoredObject[]> {
    checkPrefix(prefix);
    const base = this.prefix === '' ? '' : `${this.prefix}/`;
    const target = `s3://${this.bucket}/${base}${prefix}`;
    const out: StoredObject[] = [];
    let token: string | undefined;
    do {
      const page = await this.retrying('ListObjectsV2', target, () =>
        this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: `${base}${prefix}`, ContinuationToken: token })),
      );
      for (const object of page.Contents ?? []) {
        const full = object.Key;
        // Skip "folder" markers (keys ending in '/') that consoles create.
        if (full === undefined || !full.startsWith(base) || full.endsWith('/')) continue;
        out.push({ key: full.slice(base.length), bytes: object.Size ?? 0 });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return out.sort((a, b) => compareKeys(a.key, b.key));
  }

  async delete(key: string): Promise<void> {
    const Key = this.objectKey(key);
    await this.retrying('DeleteObject', this.uri(key), () => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key })));
  }

  /** Runs call up to ATTEMPTS times on network errors, 5xx and throttling; throws a one-line FxpipeError naming op, target and code. */
  private async retrying<T>(op: string, target: string, call: () => Promise<T>, notFoundIsNull = false): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (error) {
        if (isNotFound(error) && codeOf(error) !== 'NoSuchBucket') {
          if (notFoundIsNull) throw new NotFoundSignal();
          throw new FxpipeError(`no such object ${target} (S3 ${op}: ${codeOf(error)})`, { cause: error });
        }
        if (attempt < ATTEMPTS && isRetryable(error)) {
          await sleep(250 * 4 ** (attempt - 1) * (0.5 + Math.random()));
          continue;
        }
        throw this.describe(op, target, error, attempt);
      }
    }
  }

  private describe(op: string, target: string, error: unknown, attempts: number): FxpipeError {
    if (error instanceof FxpipeError) return error;
    const code = codeOf(error);
    const status = statusOf(error);
    const raw = error instanceof Error ? oneLine(error) : '';
    const detail = raw !== '' && raw !== code && raw !== 'UnknownError' ? `: ${raw}` : '';
    const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
    let message = `S3 ${op} ${target} failed${tries}: ${code}${status !== undefined ? ` (HTTP ${status})` : ''}${detail}`;
    for (const secret of this.secrets) message = message.split(secret).join('***');
    const exitCode = CONFIGURATION_CODES.has(code) ? ExitCode.usage : ExitCode.failed;
    return new FxpipeError(message, { exitCode, cause: error });
  }
}

/** Internal: HeadObject found nothing. */
class NotFoundSignal extends Error {}
