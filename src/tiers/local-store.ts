import { randomBytes } from 'node:crypto';
import { constants as fsConstants, type Dirent } from 'node:fs';
import { copyFile, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { FxpipeError, oneLine, usageError } from '../errors.js';
import type { ObjectStore, StoredObject } from './object-store.js';

/** Name prefix of the temporary files put/get write before renaming; list never reports them and keys may not use it. */
export const TEMP_PREFIX = '.fxpipe-tmp-';

/**
 * Checks a key: '/'-separated, relative, no empty, '.' or '..' segments, no backslash or NUL,
 * no segment starting with the temp-file prefix. Shared by every store so a key valid in one is valid in all.
 */
export function checkKey(key: string): string {
  const segments = key.split('/');
  const bad =
    key === '' ||
    key.includes('\\') ||
    key.includes('\0') ||
    segments.some((segment) => segment === '' || segment === '.' || segment === '..' || segment.startsWith(TEMP_PREFIX));
  if (bad) throw usageError(`invalid object key ${JSON.stringify(key)}: expected a relative '/'-separated path`);
  return key;
}

/** Checks a list prefix: '' (everything) or a key-like string, possibly ending in '/'. */
export function checkPrefix(prefix: string): string {
  if (prefix === '') return prefix;
  checkKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
  return prefix;
}

/** Byte-wise (UTF-8) order, the order S3 lists keys in. */
export const compareKeys = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** A temp path next to target, so the final rename stays on one file system. */
export function tempPathFor(target: string): string {
  return path.join(path.dirname(target), `${TEMP_PREFIX}${path.basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}`);
}

async function fsyncPath(file: string): Promise<void> {
  const handle = await open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** fsyncs a directory so a rename into it survives a crash; some platforms refuse to open directories, which is fine. */
export async function fsyncDir(dir: string): Promise<void> {
  try {
    await fsyncPath(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EACCES') throw error;
  }
}

/** Copies source to target via a synced temp file and a rename: target is either absent, the old file or the whole new one. */
async function atomicCopy(source: string, target: string): Promise<number> {
  const temp = tempPathFor(target);
  try {
    await copyFile(source, temp, fsConstants.COPYFILE_FICLONE);
    await fsyncPath(temp);
    const { size } = await stat(temp);
    await rename(temp, target);
    await fsyncDir(path.dirname(target));
    return size;
  } catch (error) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw error;
  }
}

const isMissing = (error: unknown) => {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
};

/** An object store in a local directory: each key is a file below it. */
export class LocalStore implements ObjectStore {
  readonly root: string;
  /** Absolute path of the directory. */
  readonly dir: string;

  /** root: the directory as the user wrote it; dir: its absolute path (default: root resolved). openObjectStore creates it. */
  constructor(root: string, dir = path.resolve(root)) {
    this.root = root;
    this.dir = path.resolve(dir);
  }

  /** The file holding key. */
  pathOf(key: string): string {
    return path.join(this.dir, ...checkKey(key).split('/'));
  }

  uri(key: string): string {
    return pathToFileURL(this.pathOf(key)).href;
  }

  async put(localFile: string, key: string): Promise<StoredObject> {
    const target = this.pathOf(key);
    try {
      await mkdir(path.dirname(target), { recursive: true });
      const bytes = await atomicCopy(localFile, target);
      return { key, bytes };
    } catch (error) {
      throw new FxpipeError(`cannot store ${localFile} as ${this.uri(key)}: ${oneLine(error)}`, { cause: error });
    }
  }

  async get(key: string, localFile: string): Promise<StoredObject> {
    const source = this.pathOf(key);
    if ((await this.head(key)) === null) throw new FxpipeError(`no such object ${this.uri(key)}`);
    try {
      const bytes = await atomicCopy(source, localFile);
      return { key, bytes };
    } catch (error) {
      if (isMissing(error) && (await this.head(key)) === null) throw new FxpipeError(`no such object ${this.uri(key)}`, { cause: error });
      throw new FxpipeError(`cannot copy ${this.uri(key)} to ${localFile}: ${oneLine(error)}`, { cause: error });
    }
  }

  async head(key: string): Promise<StoredObject | null> {
    try {
      const info = await stat(this.pathOf(key));
      return info.isFile() ? { key, bytes: info.size } : null;
    } catch (error) {
      if (isMissing(error)) return null;
      throw new FxpipeError(`cannot stat ${this.uri(key)}: ${oneLine(error)}`, { cause: error });
    }
  }

  async list(prefix: string): Promise<StoredObject[]> {
    checkPrefix(prefix);
    // Walk only the deepest directory the prefix pins down, then filter by the full prefix (S3 semantics: a string prefix).
    const fixed = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    const out: StoredObject[] = [];
    const walk = async (relDir: string): Promise<void> => {
      let entries: Dirent[];
      try {
        entries = await readdir(relDir === '' ? this.dir : path.join(this.dir, ...relDir.split('/')), { withFileTypes: true });
      } catch (error) {
        if (isMissing(error)) return;
        throw new FxpipeError(`cannot list ${pathToFileURL(this.dir).href}: ${oneLine(error)}`, { cause: error });
      }
      for (const entry of entries) {
        if (entry.name.startsWith(TEMP_PREFIX)) continue;
        const key = relDir === '' ? entry.name : `${relDir}/${entry.name}`;
        if (entry.isDirectory()) {
          if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) await walk(key);
        } else if (entry.isFile() && key.startsWith(prefix)) {
          const info = await stat(path.join(this.dir, ...key.split('/'))).catch((error: unknown) => {
            if (isMissing(error)) return null; // deleted meanwhile
            throw error;
          });
          if (info) out.push({ key, bytes: info.size });
        }
      }
    };
    await walk(fixed);
    return out.sort((a, b) => compareKeys(a.key, b.key));
  }

  async delete(key: string): Promise<void> {
    try {
      const info = await stat(this.pathOf(key)).catch((error: unknown) => {
        if (isMissing(error)) return null;
        throw error;
      });
      if (info === null || !info.isFile()) return; // like S3: deleting a missing key succeeds
      await rm(this.pathOf(key), { force: true });
      await fsyncDir(path.dirname(this.pathOf(key)));
    } catch (error) {
      throw new FxpipeError(`cannot delete ${this.uri(key)}: ${oneLine(error)}`, { cause: error });
    }
  }
}
