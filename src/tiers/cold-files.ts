import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FxpipeError } from '../errors.js';
import type { Db } from '../warehouse/db.js';
import { Duck, sqlPath } from './duck.js';
import { splitArchiveUri } from './layout.js';
import { manifestEntries, type ManifestEntry } from './manifest.js';
import type { ObjectStore } from './object-store.js';

/** Whether a file is known to hold its entry's rows (checked before, and unchanged since). */
export type KnownRows = (entry: ManifestEntry, file: string) => Promise<boolean>;

/**
 * A local path for each archived month's Parquet file: a file:// archive is read where it is; an S3 one is
 * downloaded once into cacheDir, under its key with the manifest checksum in the name (a month archived
 * again gets a new cache file). Each file must hold the manifest's row count; DuckDB counts them, except in the
 * files `known` vouches for.
 */
export async function coldFiles(duck: Duck, entries: ManifestEntry[], cacheDir: string, known?: KnownRows): Promise<string[]> {
  const files: string[] = [];
  const stores = new Map<string, ObjectStore>();
  try {
    for (const entry of entries)
      files.push(entry.uri.startsWith('file:') ? fileURLToPath(entry.uri) : await cached(entry, cacheDir, stores));
  } finally {
    if (stores.size) {
      const { releaseStore } = await import('./store-lifetime.js');
      for (const store of stores.values()) releaseStore(store);
    }
  }
  const vouched = known ? await Promise.all(entries.map((entry, i) => known(entry, files[i]!))) : [];
  const unknown = entries.flatMap((_, i) => (vouched[i] ? [] : [i]));
  if (unknown.length === 0) return files;
  const counts = await duck.rows<{ file: string; rows: string }>(
    `select filename as file, count(*)::varchar as rows from read_parquet([${unknown.map((i) => sqlPath(files[i]!)).join(', ')}], filename = true) group by filename`,
  );
  const rowsOf = new Map(counts.map((c) => [c.file, Number(c.rows)]));
  for (const i of unknown) {
    const entry = entries[i]!;
    const found = rowsOf.get(files[i]!) ?? 0;
    if (found !== entry.rows)
      throw new FxpipeError(`archived ${entry.month} (${entry.uri}) holds ${found} rows, the manifest ${entry.rows}`);
  }
  return files;
}

async function cached(entry: ManifestEntry, cacheDir: string, stores: Map<string, ObjectStore>): Promise<string> {
  const { root, key } = splitArchiveUri(entry.uri);
  const file = path.join(cacheDir, ...key.replace(/\.parquet$/, `.${entry.checksum}.parquet`).split('/'));
  const present = await stat(file).then(
    (info) => info.size,
    () => null,
  );
  if (present !== entry.bytes) {
    await mkdir(path.dirname(file), { recursive: true });
    // The S3 client loads only when an archive is on S3 (not for every `fxpipe query`).
    const store = stores.get(root) ?? (await import('./open-store.js')).openObjectStore(root);
    stores.set(root, store);
    await store.get(key, file);
  }
  return file;
}

/**
 * fn over the Parquet files of the archived months `keep` selects, in one in-memory DuckDB (files as a DuckDB
 * list literal for read_parquet); null when no archived month is selected, without opening DuckDB.
 */
export async function withArchivedMonths<T>(
  db: Db,
  keep: (month: string) => boolean,
  cacheDir: string,
  fn: (duck: Duck, files: string, months: string[]) => Promise<T>,
): Promise<T | null> {
  const entries = (await manifestEntries(db, 'archived')).filter((e) => keep(e.month));
  if (entries.length === 0) return null;
  await mkdir(cacheDir, { recursive: true });
  const duck = await Duck.open();
  try {
    const files = await coldFiles(duck, entries, cacheDir);
    return await fn(
      duck,
      `[${files.map(sqlPath).join(', ')}]`,
      entries.map((e) => e.month),
    );
  } finally {
    duck.close();
  }
}
