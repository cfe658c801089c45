import { createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';

/** "PK\3\4": a zip archive starts with a local file header. */
const ZIP_MAGIC = Buffer.from([0x50, 0x4b, 0x03, 0x04]);

export async function isZipFile(path: string): Promise<boolean> {
  const file = await open(path, 'r');
  try {
    const { buffer, bytesRead } = await file.read(Buffer.alloc(ZIP_MAGIC.length), 0, ZIP_MAGIC.length, 0);
    return bytesRead === ZIP_MAGIC.length && buffer.equals(ZIP_MAGIC);
  } finally {
    await file.close();
  }
}

/**
 * Streams the archive's first entry whose name matches to dest, decompressing on the way (never the
 * whole entry in memory). Returns the entry's name, or null when no entry matches.
 */
export async function extractZipEntry(zipPath: string, matches: (name: string) => boolean, dest: string): Promise<string | null> {
  const zip = await yauzl.openPromise(zipPath);
  try {
    for await (const entry of zip.eachEntry()) {
      if (entry.fileName.endsWith('/') || !matches(entry.fileName)) continue;
      await pipeline(await zip.openReadStreamPromise(entry), createWriteStream(dest));
      return entry.fileName;
    }
    return null;
  } finally {
    zip.close();
  }
}
