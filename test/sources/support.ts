import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SourceBreakers } from '../../src/sources/breaker.js';
import type { SourceError } from '../../src/sources/errors.js';
import { extractLatest } from '../../src/sources/extract.js';
import type { HttpPolicy } from '../../src/sources/http.js';
import type { Extraction, FetchAttempt, Source, SourceSettings } from '../../src/sources/types.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const fixturesDir = path.resolve(repoRoot, 'test/fixtures');

export const readFixture = (name: string): string => readFileSync(path.join(fixturesDir, name), 'utf8');

/** Small waits and few retries so failing paths stay fast. */
export const testPolicy: HttpPolicy = {
  connectTimeoutMs: 1000,
  totalTimeoutMs: 3000,
  maxBytes: 5 * 1024 * 1024,
  retries: 2,
  minBackoffMs: 5,
  maxBackoffMs: 20,
  maxRetryAfterMs: 3000,
};

export interface SeenRequest {
  url: string;
  headers: http.IncomingHttpHeaders;
}

export interface TestServer {
  url: string;
  requests: SeenRequest[];
  close(): Promise<void>;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, index: number) => void;

/** A real HTTP server on 127.0.0.1; index counts the requests it received, from 0. */
export async function startServer(handler: Handler): Promise<TestServer> {
  const requests: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    requests.push({ url: req.url ?? '', headers: req.headers });
    handler(req, res, requests.length - 1);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface Reply {
  status?: number;
  headers?: Record<string, string>;
  body: string;
}

/** Replies with the given responses in turn, the last one repeated. */
export function replies(...sequence: Reply[]): Handler {
  return (_req, res, index) => {
    const reply = sequence[Math.min(index, sequence.length - 1)]!;
    res.writeHead(reply.status ?? 200, { 'content-type': 'application/json', ...reply.headers });
    res.end(reply.body);
  };
}

export const json = (body: string, status = 200): Reply => ({ status, body });
export const html = (body: string, status = 200): Reply => ({ status, body, headers: { 'content-type': 'text/html; charset=utf-8' } });

/** Records every attempt handed to onAttempt. */
export function attemptLog() {
  const attempts: FetchAttempt[] = [];
  return { attempts, onAttempt: async (attempt: FetchAttempt) => void attempts.push(attempt) };
}

/** Serves one reply and runs a source's latest extraction against it, with a breaker of its own. */
export async function extractFrom(
  source: Source,
  reply: Reply,
  settings: Partial<SourceSettings> = {},
): Promise<{ extraction: Extraction; server: TestServer; attempts: FetchAttempt[] }> {
  const server = await startServer(replies(reply));
  const log = attemptLog();
  try {
    const extraction = await extractLatest(source, { baseUrl: server.url, ...settings }, testPolicy, log.onAttempt, new SourceBreakers());
    return { extraction, server, attempts: log.attempts };
  } finally {
    await server.close();
  }
}

/** What a promise expected to fail rejects with. */
export async function rejectionOf(promise: Promise<unknown>): Promise<SourceError> {
  try {
    await promise;
  } catch (error) {
    return error as SourceError;
  }
  throw new Error('expected a failure, got a result');
}

/** The SourceError a source's extraction fails with, for one reply. */
export const extractionError = (source: Source, reply: Reply, settings: Partial<SourceSettings> = {}): Promise<SourceError> =>
  rejectionOf(extractFrom(source, reply, settings));

export const quoteTexts = (extraction: Extraction): Map<string, string> =>
  new Map(extraction.quotes.map((quote) => [quote.code, String(quote.value)]));
