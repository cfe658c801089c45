/**
 * A backfill's input, a calendar year at a time: Frankfurter's time series (one request per year) or the
 * ECB's historical file (local, or downloaded), read but not parsed until the chunk is loaded.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type DayRange, inRange, yearsOfRange } from './day-range.js';
import { ECB_HISTORY_CSV, ecbHistoryRequest, indexEcbHistory, parseEcbHistory, readYearBlock } from './ecb-history.js';
import { SourceError } from './errors.js';
import { parseTimeSeries, timeSeriesRequest } from './frankfurter.js';
import { fetchWithPolicy, type HttpPolicy } from './http.js';
import { isSuccessStatus, unexpectedStatus } from './payload.js';
import type { Extraction, FetchAttempt, SourceName, SourceSettings } from './types.js';
import { extractZipEntry, isZipFile } from './zip.js';
import { redactUrl } from '../util/secrets.js';

/** The ECB's archive is larger than any latest-rates payload: its size cap is at least this. */
const ECB_HISTORY_MAX_BYTES = 64 * 1024 * 1024;

/** How a chunk's raw input reached us, to be stored in bronze as it is. */
export type RawInput =
  { kind: 'http'; attempts: FetchAttempt[] } | { kind: 'file'; location: string; body: Buffer; readAt: Date; durationMs: number };

/** One chunk of input: its days, its raw input and a digest of it, and how to parse it. */
export interface HistoryChunk {
  days: DayRange;
  contentSha256: string;
  raw: RawInput;
  /** The chunk's extractions within its days, oldest first. */
  parse(): Promise<Extraction[]>;
}

export interface ChunkedHistory {
  /** The source the rates are stored under. */
  source: SourceName;
  /** Where the input comes from: a file path, or a URL (Frankfurter's base URL, the ECB archive's URL). */
  location: string;
  /** The chunks' days, oldest first. */
  plan: DayRange[];
  read(days: DayRange): Promise<HistoryChunk>;
  /** Removes what reading needed on disk (an archive's extracted file). */
  close(): Promise<void>;
}

/** Frankfurter's time series, one request per calendar year of the range. */
export function frankfurterHistory(settings: SourceSettings, http: HttpPolicy, range: DayRange): ChunkedHistory {
  return {
    source: 'frankfurter',
    location: redactUrl(settings.baseUrl),
    plan: yearsOfRange(range),
    async read(days) {
      const attempts: FetchAttempt[] = [];
      const response = await fetchWithPolicy('frankfurter', timeSeriesRequest(settings, days.from, days.to), http, async (attempt) => {
        attempts.push(attempt);
      });
      return {
        days,
        contentSha256: sha256(response.body),
        raw: { kind: 'http', attempts },
        // Frankfurter starts a series on the business day on or before `from`: that day belongs to the chunk before.
        parse: async () =>
          parseTimeSeries(response)
            .filter((e) => inRange(dayOf(e.asOf), days))
            .sort((a, b) => a.asOf.getTime() - b.asOf.getTime()),
      };
    },
    close: async () => undefined,
  };
}

/** Where the ECB's historical file comes from: a local .csv or .zip, or a download of the ECB's archive. */
export type EcbHistoryFile = { path: string } | { download: SourceSettings; http: HttpPolicy };

/** The ECB's historical file, one calendar year of the range per chunk, oldest first. */
export async function ecbHistory(file: EcbHistoryFile, range: DayRange): Promise<ChunkedHistory> {
  const scratch = scratchDir();
  try {
    const { location, localPath } =
      'path' in file ? { location: file.path, localPath: file.path } : await download(file, await scratch.path());
    const csvPath = (await isZipFile(localPath)) ? await unzipCsv(localPath, await scratch.path()) : localPath;
    const index = await indexEcbHistory(csvPath, range);
    return {
      source: 'ecb',
      location,
      plan: index.years.map((year) => year.days),
      async read(days) {
        const block = index.years.find((year) => year.days.from === days.from);
        if (!block) throw new RangeError(`${days.from}..${days.to} is not a chunk of ${location}`);
        const started = performance.now();
        const readAt = new Date();
        const body = await readYearBlock(index, block);
        return {
          days,
          contentSha256: sha256(body),
          raw: { kind: 'file', location, body, readAt, durationMs: performance.now() - started },
          parse: () => parseEcbHistory(body, days, path.basename(csvPath)),
        };
      },
      close: scratch.remove,
    };
  } catch (error) {
    await scratch.remove();
    throw error;
  }
}

/** A temporary directory made on first use (a local .csv needs none); remove() deletes it if it was made. */
function scratchDir(): { path: () => Promise<string>; remove: () => Promise<void> } {
  let made: Promise<string> | null = null;
  return {
    path: () => (made ??= mkdtemp(path.join(tmpdir(), 'fxpipe-backfill-'))),
    remove: async () => {
      if (made) await rm(await made, { recursive: true, force: true });
    },
  };
}

async function download(
  file: { download: SourceSettings; http: HttpPolicy },
  scratch: string,
): Promise<{ location: string; localPath: string }> {
  const request = ecbHistoryRequest(file.download);
  const policy = { ...file.http, maxBytes: Math.max(file.http.maxBytes, ECB_HISTORY_MAX_BYTES) };
  const response = await fetchWithPolicy('ecb', request, policy, async () => undefined);
  if (!isSuccessStatus(response.status)) throw unexpectedStatus('ecb', response);
  const localPath = path.join(scratch, path.basename(new URL(request.url).pathname));
  await writeFile(localPath, response.body);
  return { location: request.redactedUrl, localPath };
}

async function unzipCsv(zipPath: string, scratch: string): Promise<string> {
  const csvPath = path.join(scratch, ECB_HISTORY_CSV);
  let entry: string | null;
  try {
    entry = await extractZipEntry(zipPath, (name) => name.toLowerCase().endsWith('.csv'), csvPath);
  } catch (error) {
    throw new SourceError('ecb', `${path.basename(zipPath)}: not a readable zip archive (${(error as Error).message})`, 'format', {
      cause: error,
    });
  }
  if (entry === null) throw new SourceError('ecb', `${path.basename(zipPath)} holds no .csv file`, 'format');
  return csvPath;
}

/** The ECB publishes at 14:00 or 15:00 UTC, so the UTC day of the as-of time is the provider's date. */
export function dayOf(asOf: Date): string {
  return asOf.toISOString().slice(0, 10);
}

function sha256(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}
