import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { oneLine, usageError } from '../errors.js';
import { LocalStore } from './local-store.js';
import type { ObjectStore } from './object-store.js';
import { S3Store, s3SettingsFromEnv } from './s3-store.js';
import { redactUrl } from '../util/secrets.js';

const EXPECTED = 'expected s3://bucket/prefix or a directory';

/** dest as shown in an error: never with the user:password@ part of a URL (src/util/secrets.ts). */
const shown = (dest: string) => JSON.stringify(redactUrl(dest));

/** Bucket naming rules of S3: 3–63 of a-z 0-9 . -, starting and ending with a letter or digit, no "..". */
const BUCKET = /^(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Parses s3://bucket[/prefix][/]; null when dest is not a valid S3 URL. */
export function parseS3Url(dest: string): { bucket: string; prefix: string } | null {
  const match = /^s3:\/\/([^/]*)(?:\/(.*))?$/i.exec(dest);
  if (!match) return null;
  const bucket = match[1] ?? '';
  const prefix = (match[2] ?? '').replace(/\/+$/, '');
  if (!BUCKET.test(bucket)) return null;
  if (
    prefix !== '' &&
    prefix.split('/').some((segment) => segment === '' || segment === '.' || segment === '..' || /[\\\0?#]/.test(segment))
  )
    return null;
  return { bucket, prefix };
}

/**
 * The store behind a --to destination: s3://bucket/prefix is S3 (connection settings from the AWS_* variables of env),
 * file:///dir or anything else without a URL scheme is a local directory, created if missing.
 */
export function openObjectStore(dest: string, env: NodeJS.ProcessEnv = process.env): ObjectStore {
  if (dest.trim() === '') throw usageError(`invalid --to "": ${EXPECTED}`);
  if (/^s3:/i.test(dest)) {
    const parsed = parseS3Url(dest);
    if (!parsed) throw usageError(`invalid --to ${shown(dest)}: ${EXPECTED}`);
    return new S3Store({ ...parsed, root: dest, settings: s3SettingsFromEnv(env) });
  }
  let dir = dest;
  if (/^file:/i.test(dest)) {
    try {
      dir = fileURLToPath(dest);
    } catch {
      throw usageError(`invalid --to ${shown(dest)}: ${EXPECTED}`);
    }
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(dest)) {
    // gs://, https://… : not a directory anyone means to create.
    throw usageError(`invalid --to ${shown(dest)}: ${EXPECTED}`);
  }
  const absolute = path.resolve(dir);
  try {
    mkdirSync(absolute, { recursive: true });
  } catch (error) {
    throw usageError(`invalid --to ${shown(dest)}: cannot create directory ${absolute} (${oneLine(error)})`, error);
  }
  if (!statSync(absolute).isDirectory()) throw usageError(`invalid --to ${shown(dest)}: ${absolute} is not a directory`);
  return new LocalStore(dest, absolute);
}
