import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
  /** When it arrived (Date.now()). */
  at: number;
}

/** A webhook receiver on 127.0.0.1 that records every request; answers 200 "Accepted" like a Make.com custom webhook. */
export interface Receiver {
  origin: string;
  received: Received[];
  /** The next requests get these statuses, in order; then 200 again. */
  failNext(...statuses: number[]): void;
  /** From now on, accept requests and never answer. */
  hang(): void;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const received: Received[] = [];
  const statuses: number[] = [];
  const hanging: ServerResponse[] = [];
  let hang = false;
  const server = createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () => {
      const body: unknown = JSON.parse(text || 'null');
      received.push({ method: request.method ?? '', path: request.url ?? '', headers: request.headers, body, at: Date.now() });
      if (hang) return void hanging.push(response);
      response.writeHead(statuses.shift() ?? 200, { 'content-type': 'text/plain' }).end('Accepted');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    failNext: (...next) => void statuses.push(...next),
    hang: () => void (hang = true),
    close: () =>
      new Promise<void>((resolve) => {
        for (const response of hanging) response.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A loopback URL nothing listens on: a receiver that is down. */
export async function closedPortOrigin(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
