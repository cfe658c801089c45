/** What a simulated provider answers, and the JSON writing that keeps number text exactly as given. */

export interface ProviderResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Answers one request under a provider's base URL: path relative to it ('/v6/latest/USD'), at the simulated time. */
export type ProviderHandler = (path: string, query: URLSearchParams, at: Date) => ProviderResponse;

/** A compact JSON object whose values are already JSON text (numbers kept as written), in the given key order. */
export function jsonObject(entries: Iterable<readonly [string, string]>): string {
  return `{${Array.from(entries, ([key, value]) => `${JSON.stringify(key)}:${value}`).join(',')}}`;
}

export function jsonResponse(status: number, body: string, contentType = 'application/json'): ProviderResponse {
  return { status, headers: { 'content-type': contentType }, body };
}

export function notFound(): ProviderResponse {
  return { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'Not Found' };
}

/** "Tue, 09 Jan 2024 00:02:31 +0000", as ExchangeRate-API writes its time_*_utc fields. */
export function rfc1123(at: Date): string {
  return at.toUTCString().replace(/GMT$/, '+0000');
}

export function unixSeconds(at: Date): string {
  return String(Math.floor(at.getTime() / 1000));
}
