/**
 * The hot tier's Parquet snapshot under FXPIPE_HOME/cache/hot-snapshot/<key>/: the history rows and the three
 * dimensions as `fxpipe query` reads them, plus meta.json (per file: rows, size, SHA-256 and the file's identity; the
 * identity of each archived month's file whose rows DuckDB counted when the snapshot was written; and the archived
 * months the hot rows still hold some of, which queries report).
 * Written once per state of the hot data (hot-snapshot-key.ts), reused by every query while that state lasts.
 *
 * A snapshot is read only through file descriptors opened before its files were checked: DuckDB reads
 * /dev/fd/<n>, the very file that passed, so a snapshot replaced or pruned meanwhile cannot change what a running
 * query reads. The check is the file's identity as fstat reports it (inode, size, mtime and ctime, to the
 * nanosecond) against the one recorded when it was written: any write, truncation or replacement through the file
 * system moves the ctime, which no one can set back, so a damaged file is never read, at the cost of one fstat
 * instead of reading and hashing the file on every query. (The SHA-256 in meta.json is for a person or a test checking
 * a file's content.)
 */
import { createHash } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, readFile, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { FxpipeError, usageError } from '../errors.js';
import { processAlive } from '../util/process-alive.js';
import type { HotState } from './hot-snapshot-key.js';
import type { Month } from '../calendar/months.js';

export const SNAPSHOT_FILES = ['history', 'currencies', 'sources', 'dates'] as const;
export type SnapshotFile = (typeof SNAPSHOT_FILES)[number];

/** A file as fstat sees it: inode, size, mtime and ctime (ns, as decimal text). */
interface FileIdentity {
  bytes: number;
  ino: string;
  mtimeNs: string;
  ctimeNs: string;
}

interface FileMeta extends FileIdentity {
  rows: number;
  sha256: string;
}

/** An archived month for which PostgreSQL holds rows again (loaded after archiving); they are left out of rates_history. */
export interface ShadowedMonth {
  month: Month;
  hotRows: number;
}

interface Meta {
  key: string;
  files: Record<SnapshotFile, FileMeta>;
  /** The archived months' Parquet files, by path, as they were when DuckDB counted their rows for this state. */
  cold: Record<string, FileIdentity & { rows: number }>;
  /** Hot rows of archived months, by month, in this state (a function of it, like everything here). */
  shadowed: ShadowedMonth[];
  /** Hot rows whose values the snapshot holds as null (they do not fit DECIMAL(38,24)); null when none. */
  unfit: UnfitRows | null;
}

/** Hot rows holding a value DECIMAL(38,24) cannot hold exactly, which the snapshot holds as null: how many, and the first named. */
export interface UnfitRows {
  rows: number;
  /** "rate 120000000000000000000000000000 of USD/CHF from ecb at 2023-02-14T20:30:00.000Z" */
  first: string;
}

/** An archived month's local file and the rows the manifest says it holds. */
export interface ColdFile {
  file: string;
  rows: number;
}

const KEY_DIR = /^[0-9a-f]{64}$/;
const BUILD_DIR = /^\.build-(\d+)-/;
const TRASH_DIR = /^\.trash-/;
/** Another query may be about to open a snapshot installed this recently (its PostgreSQL snapshot is older than ours). */
const PRUNE_AFTER_MS = 60_000;
/** A build directory whose process is gone, untouched this long, is left over from a kill. */
const STALE_BUILD_MS = 10 * 60_000;

export const parquetName = (file: SnapshotFile) => `${file}.parquet`;

/** A verified snapshot's files, open: `paths` are what DuckDB reads (/dev/fd/<n>). */
export class OpenSnapshot {
  private constructor(
    private readonly handles: Record<SnapshotFile, FileHandle>,
    private readonly cold: Meta['cold'],
    /** The archived months the hot rows of this state hold some of. */
    readonly shadowed: readonly ShadowedMonth[],
    /** The hot rows whose values do not fit DECIMAL(38,24), held as null; null when none. */
    readonly unfit: UnfitRows | null,
    /** Whether this query wrote it. */
    readonly written: boolean,
  ) {}

  /** Whether an archived month's file held `rows` when this snapshot was written, and is the same file still. */
  async holdsColdRows(file: string, rows: number): Promise<boolean> {
    const known = this.cold[file];
    if (known?.rows !== rows) return false;
    const current = await stat(file, { bigint: true }).catch(() => null);
    return current !== null && sameFile(identityOfStats(current), known);
  }

  get paths(): Record<SnapshotFile, string> {
    return Object.fromEntries(SNAPSHOT_FILES.map((file) => [file, `/dev/fd/${this.handles[file].fd}`])) as Record<SnapshotFile, string>;
  }

  async close(): Promise<void> {
    await Promise.all(SNAPSHOT_FILES.map((file) => this.handles[file].close().catch(() => undefined)));
  }

  /** The files of dir, opened and checked against meta.json and state; null when one is missing, damaged or of another state. */
  static async open(dir: string, state: HotState, written = false): Promise<OpenSnapshot | null> {
    const meta = await readMeta(dir);
    if (!meta || meta.key !== state.key || typeof meta.cold !== 'object' || meta.cold === null || !Array.isArray(meta.shadowed))
      return null;
    if (meta.unfit !== null && (typeof meta.unfit?.rows !== 'number' || typeof meta.unfit.first !== 'string')) return null;
    const handles: Partial<Record<SnapshotFile, FileHandle>> = {};
    try {
      for (const file of SNAPSHOT_FILES) {
        const expected = meta.files[file];
        if (typeof expected?.rows !== 'number') return null;
        const handle = await open(path.join(dir, parquetName(file)), 'r').catch(() => null);
        if (!handle) return null;
        handles[file] = handle;
        if (!(await matches(handle, expected))) return null;
      }
      const opened = new OpenSnapshot({ ...handles } as Record<SnapshotFile, FileHandle>, meta.cold, meta.shadowed, meta.unfit, written);
      for (const file of SNAPSHOT_FILES) delete handles[file];
      return opened;
    } finally {
      await Promise.all(Object.values(handles).map((handle) => handle.close().catch(() => undefined)));
    }
  }
}

async function readMeta(dir: string): Promise<Meta | null> {
  try {
    const meta = JSON.parse(await readFile(path.join(dir, 'meta.json'), 'utf8')) as Meta;
    return typeof meta?.key === 'string' && typeof meta.files === 'object' && meta.files !== null ? meta : null;
  } catch {
    return null;
  }
}

/** Whether the open file is the one meta.json describes: same inode, size, mtime and ctime. */
async function matches(handle: FileHandle, expected: FileMeta): Promise<boolean> {
  return sameFile(await identityOf(handle), expected);
}

const sameFile = (a: FileIdentity, b: FileIdentity) =>
  a.bytes === b.bytes && a.ino === b.ino && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;

const identityOfStats = (info: BigIntStats): FileIdentity => ({
  bytes: Number(info.size),
  ino: String(info.ino),
  mtimeNs: String(info.mtimeNs),
  ctimeNs: String(info.ctimeNs),
});

const identityOf = async (handle: FileHandle) => identityOfStats(await handle.stat({ bigint: true }));

async function sha256(handle: FileHandle, size: number): Promise<string> {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(Math.min(size, 4 * 1024 * 1024) || 1);
  for (let position = 0; position < size;) {
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
    if (bytesRead === 0) break;
    hash.update(buffer.subarray(0, bytesRead));
    position += bytesRead;
  }
  return hash.digest('hex');
}

/** Where snapshots live: FXPIPE_HOME/cache/hot-snapshot. */
export const snapshotRoot = (cacheDir: string) => path.join(cacheDir, 'hot-snapshot');

/** The snapshot of state under root, its files open and verified; null when there is none or it is damaged. */
export function findSnapshot(root: string, state: HotState): Promise<OpenSnapshot | null> {
  return OpenSnapshot.open(path.join(root, state.key), state);
}

/** A fresh directory to write a snapshot into, on the same file system as root (so installing it is a rename). */
export async function buildDir(root: string): Promise<string> {
  try {
    await mkdir(root, { recursive: true, mode: 0o700 });
    return await mkdtemp(path.join(root, `.build-${process.pid}-`));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw usageError(
      `cannot write the hot snapshot under ${root} (${code}): fxpipe query keeps it in FXPIPE_HOME/cache, which must be a writable directory`,
      error,
    );
  }
}

/**
 * Installs the snapshot written into build (the Parquet files of SNAPSHOT_FILES) as root/<state.key>: each file must
 * hold the rows PostgreSQL exported for it (`rowsIn` counts them), meta.json records their sizes and SHA-256 (and the shadowed months), the
 * files are opened, and the directory renamed into place. When another query installed the same key meanwhile, its copy stays (ours is removed,
 * still open); a damaged one is replaced. Older snapshots are then pruned.
 */
export async function installSnapshot(
  root: string,
  build: string,
  state: HotState,
  exported: Record<SnapshotFile, number>,
  rowsIn: (file: string) => Promise<number>,
  coldFiles: readonly ColdFile[],
  shadowed: ShadowedMonth[],
  unfit: UnfitRows | null,
): Promise<OpenSnapshot> {
  const files = {} as Record<SnapshotFile, FileMeta>;
  for (const file of SNAPSHOT_FILES) {
    const parquet = path.join(build, parquetName(file));
    const rows = await rowsIn(parquet);
    if (rows !== exported[file]) {
      throw new FxpipeError(`the hot snapshot's ${file} file holds ${rows} rows, PostgreSQL sent ${exported[file]}; nothing installed`);
    }
    const handle = await open(parquet, 'r');
    try {
      // Synced before meta.json vouches for it: after a crash the snapshot is whole or fails its check.
      await handle.sync();
      const identity = await identityOf(handle);
      files[file] = { rows, ...identity, sha256: await sha256(handle, identity.bytes) };
    } finally {
      await handle.close();
    }
  }
  const cold: Meta['cold'] = {};
  for (const { file, rows } of coldFiles) cold[file] = { rows, ...identityOfStats(await stat(file, { bigint: true })) };
  const meta = await open(path.join(build, 'meta.json'), 'wx', 0o600);
  try {
    await meta.writeFile(`${JSON.stringify({ key: state.key, files, cold, shadowed, unfit } satisfies Meta, null, 2)}\n`);
    await meta.sync();
  } finally {
    await meta.close();
  }
  const opened = await OpenSnapshot.open(build, state, true);
  if (!opened) throw new FxpipeError(`the hot snapshot written to ${build} does not read back as written`);
  const target = path.join(root, state.key);
  try {
    await moveInto(build, target, state);
  } catch (error) {
    await opened.close();
    throw error;
  }
  await prune(root, state.key);
  return opened;
}

async function moveInto(build: string, target: string, state: HotState): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await rename(build, target);
      return;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOTDIR') || attempt > 2) throw error;
    }
    const present = await OpenSnapshot.open(target, state);
    if (present) {
      await present.close();
      await rm(build, { recursive: true, force: true });
      return;
    }
    // Damaged (or half-replaced by another query): moved aside whole, so no one opens a mix of two copies.
    const trash = `${path.dirname(target)}/.trash-${path.basename(build)}`;
    await rename(target, trash).catch(() => undefined);
    await rm(trash, { recursive: true, force: true });
  }
}

/**
 * Removes the snapshots of other states installed over a minute ago, and build directories left by killed queries.
 * Queries reading a removed snapshot keep reading it: they hold its files open.
 */
async function prune(root: string, keep: string): Promise<void> {
  const now = Date.now();
  for (const name of await readdir(root).catch(() => [] as string[])) {
    if (name === keep) continue;
    const build = BUILD_DIR.exec(name);
    if (!KEY_DIR.test(name) && !build && !TRASH_DIR.test(name)) continue;
    const entry = path.join(root, name);
    const info = await stat(entry).catch(() => null);
    if (!info) continue;
    const age = now - info.mtimeMs;
    if (KEY_DIR.test(name) && age < PRUNE_AFTER_MS) continue;
    if (build && (processAlive(Number(build[1])) || age < STALE_BUILD_MS)) continue;
    await rm(entry, { recursive: true, force: true }).catch(() => undefined);
  }
}
