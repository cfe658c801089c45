/** Faults the simulated providers can be told to serve instead of (or on top of) their normal response. */
import { STATUS_CODES } from 'node:http';

export type Fault = (
  | { kind: 'status'; status: number; body?: string; contentType?: string; headers?: Record<string, string> }
  /** The normal response, sent after ms: long enough to trip a client's timeout. */
  | { kind: 'delay'; ms: number }
  /** The normal response with its full Content-Length, cut after `bytes` bytes; then the connection ends. */
  | { kind: 'truncate'; bytes: number }
  /** HTTP 200 with an arbitrary body: an HTML page, a payload of the wrong shape. */
  | { kind: 'body'; body: string; contentType?: string }
) & {
  /** Serve it to every request until clearFaults, when injectFault is given no count. */
  untilCleared?: boolean;
};

/** The kind of page a CDN or reverse proxy answers with when the service behind it fails. */
function errorPage(status: number): string {
  const title = `${status} ${STATUS_CODES[status] ?? 'Error'}`;
  return `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;
}

export const faults = {
  htmlError(status: number): Fault {
    return { kind: 'status', status, body: errorPage(status), contentType: 'text/html' };
  },
  rateLimited(retryAfterSeconds: number): Fault {
    return {
      kind: 'status',
      status: 429,
      body: errorPage(429),
      contentType: 'text/html',
      headers: { 'retry-after': String(retryAfterSeconds) },
    };
  },
  truncated(bytes: number): Fault {
    return { kind: 'truncate', bytes };
  },
  slow(ms: number): Fault {
    return { kind: 'delay', ms };
  },
  /** HTTP 200 with this body instead of the normal one (a payload of the wrong shape, an edited payload). */
  body(body: string, contentType = 'application/json'): Fault {
    return { kind: 'body', body, contentType };
  },
  /** 503 pages for every request until cleared. */
  outage(): Fault {
    return { ...faults.htmlError(503), untilCleared: true };
  },
};
