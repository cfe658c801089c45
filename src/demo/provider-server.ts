/**
 * The four rate providers simulated on one HTTP server on 127.0.0.1, each under its own path prefix
 * (`${origin}/open-er-api/v6/latest/USD`), serving a simulated market on a simulated clock, with
 * faults that can be injected per provider.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sources } from '../sources/registry.js';
import { SOURCE_NAMES, type SourceName } from '../sources/types.js';
import type { Fault } from './faults.js';
import type { Market } from './market.js';
import { ecbDaily } from './providers/ecb.js';
import { exchangerateApi } from './providers/exchangerate-api.js';
import { frankfurter } from './providers/frankfurter.js';
import { openErApi } from './providers/open-er-api.js';
import { notFound, type ProviderHandler, type ProviderResponse } from './providers/response.js';
import { loadSeed } from './seed.js';

export { type Fault, faults } from './faults.js';

export interface ProviderServerOptions {
  market: Market;
  /** The simulated time every response is computed for. */
  clock: () => Date;
  /** The only key exchangerate-api accepts; when omitted, any key is. */
  apiKey?: string;
}

export interface RequestRecord {
  source: SourceName;
  /** Path and query under the provider's base URL, e.g. '/v1/latest?base=USD'. */
  path: string;
  status: number;
  /** Simulated time of arrival. */
  at: Date;
}

export interface ProviderServer {
  origin: string;
  baseUrls: Record<SourceName, string>;
  /** FXPIPE_<SOURCE>_URL → its base URL, for an fxpipe process. */
  env: Record<string, string>;
  /** The next `times` requests to source get fault (default 1, or until cleared for faults.outage()); faults queue up. */
  injectFault(source: SourceName, fault: Fault, times?: number): void;
  clearFaults(source?: SourceName): void;
  /** Every request to a provider, in order of arrival. */
  readonly requests: RequestRecord[];
  close(): Promise<void>;
}

interface PendingFault {
  fault: Fault;
  remaining: number;
}

export async function startProviderServer(options: ProviderServerOptions): Promise<ProviderServer> {
  const handlers: Record<SourceName, ProviderHandler> = {
    'open-er-api': openErApi(options.market),
    'exchangerate-api': exchangerateApi(options.market, options.apiKey),
    frankfurter: frankfurter(options.market),
    ecb: ecbDaily(options.market, loadSeed().ecbXml),
  };
  const pendingFaults = new Map<SourceName, PendingFault[]>(SOURCE_NAMES.map((name) => [name, []]));
  const requests: RequestRecord[] = [];
  const delayed = new Set<NodeJS.Timeout>();

  function takeFault(source: SourceName): Fault | undefined {
    const queue = pendingFaults.get(source) as PendingFault[];
    const next = queue[0];
    if (!next) return undefined;
    if (--next.remaining <= 0) queue.shift();
    return next.fault;
  }

  function respond(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const [, prefix = '', ...rest] = url.pathname.split('/');
    const source = SOURCE_NAMES.find((name) => name === prefix);
    if (!source) return send(response, notFound());
    const at = options.clock();
    const path = `/${rest.join('/')}`;
    const fault = takeFault(source);
    const normal = () => (request.method === 'GET' ? handlers[source](path, url.searchParams, at) : notFound());
    const answer = fault?.kind === 'status' || fault?.kind === 'body' ? faultResponse(fault) : normal();
    requests.push({ source, path: `${path}${url.search}`, status: answer.status, at });
    if (fault?.kind === 'truncate') return sendTruncated(response, answer, fault.bytes);
    if (fault?.kind === 'delay') {
      const timer = setTimeout(() => {
        delayed.delete(timer);
        send(response, answer);
      }, fault.ms);
      delayed.add(timer);
      response.on('close', () => {
        clearTimeout(timer);
        delayed.delete(timer);
      });
      return;
    }
    send(response, answer);
  }

  const server = createServer(respond);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const baseUrls = Object.fromEntries(SOURCE_NAMES.map((name) => [name, `${origin}/${name}`])) as Record<SourceName, string>;

  return {
    origin,
    baseUrls,
    env: Object.fromEntries(SOURCE_NAMES.map((name) => [sources[name].urlEnv, baseUrls[name]])),
    injectFault(source, fault, times = fault.untilCleared ? Infinity : 1) {
      if (!(times > 0) || (!Number.isInteger(times) && times !== Infinity))
        throw new RangeError(`fault count must be a whole number above 0 or Infinity, got ${times}`);
      pendingFaults.get(source)?.push({ fault, remaining: times });
    },
    clearFaults(source) {
      for (const name of source ? [source] : SOURCE_NAMES) pendingFaults.set(name, []);
    },
    requests,
    close() {
      for (const timer of delayed) clearTimeout(timer);
      delayed.clear();
      return new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}

function faultResponse(fault: Extract<Fault, { kind: 'status' | 'body' }>): ProviderResponse {
  const status = fault.kind === 'status' ? fault.status : 200;
  const headers: Record<string, string> = { ...(fault.kind === 'status' ? fault.headers : {}) };
  if (fault.contentType) headers['content-type'] = fault.contentType;
  return { status, headers, body: fault.body ?? '' };
}

function send(response: ServerResponse, answer: ProviderResponse): void {
  const body = Buffer.from(answer.body);
  response.writeHead(answer.status, { ...answer.headers, 'content-length': body.length });
  response.end(body);
}

/** Announces the whole body, sends at most `bytes` of it (never all), then drops the connection. */
function sendTruncated(response: ServerResponse, answer: ProviderResponse, bytes: number): void {
  const body = Buffer.from(answer.body);
  response.writeHead(answer.status, { ...answer.headers, 'content-length': body.length });
  response.write(body.subarray(0, Math.max(0, Math.min(bytes, body.length - 1))), () => response.destroy());
}
