import { z } from 'zod';
import { SourceError } from '../sources/errors.js';
import { exchangerateApi } from '../sources/exchangerate-api.js';
import { frankfurter } from '../sources/frankfurter.js';
import { parseJsonExact } from '../sources/json.js';
import { openErApi } from '../sources/open-er-api.js';
import { ExactNumber, type Extraction, type HttpResponse } from '../sources/types.js';
import { requestTarget, scrub } from '../util/secrets.js';
import { ProductionRateError, type ProductionRate } from './production-rates.js';

import type { ProductionFormat } from './formats.js';

const TIMEOUT_MS = 20_000;
const MAX_BYTES = 5 * 1024 * 1024;

/**
 * The rates a production endpoint answers with, one row per quote (its position in the payload as the row's line),
 * each at the payload's as-of. The URL is the whole request, key included: it appears in no message.
 */
export async function fetchProductionRates(url: string, format: ProductionFormat): Promise<ProductionRate[]> {
  const shown = shownUrl(url);
  const response = await get(url, shown);
  let extraction: Published;
  try {
    extraction = PARSERS[format](response);
  } catch (error) {
    if (error instanceof SourceError)
      throw new ProductionRateError(shown, `not an answer in the ${format} format: ${error.message.slice(error.source.length + 2)}`);
    throw error;
  }
  return extraction.quotes
    .filter((quote) => quote.code !== extraction.base)
    .map((quote, i): ProductionRate => {
      if (!(quote.value instanceof ExactNumber)) throw new ProductionRateError(shown, `the rate of ${quote.code} is not a number`);
      return { line: i + 1, base: extraction.base, quote: quote.code, rate: quote.value.text, at: extraction.asOf };
    });
}

/** Open Exchange Rates' latest.json: {disclaimer, license, timestamp (Unix seconds), base, rates}. */
const oxrPayload = z.object({
  timestamp: z.instanceof(ExactNumber).transform((value, context) => {
    const seconds = Number(value.text);
    if (!Number.isInteger(seconds) || seconds <= 0) {
      context.addIssue({ code: 'custom', message: 'expected Unix seconds' });
      return z.NEVER;
    }
    return new Date(seconds * 1000);
  }),
  base: z.string(),
  rates: z.record(z.string(), z.unknown()),
});

/** What a latest-rates answer says: its base, its as-of and each quote as published. */
type Published = Pick<Extraction, 'base' | 'asOf' | 'quotes'>;

const PARSERS: Record<ProductionFormat, (response: HttpResponse) => Published> = {
  frankfurter: (response) => frankfurter.parseLatest(response),
  'open-er-api': (response) => openErApi.parseLatest(response),
  'exchangerate-api': (response) => exchangerateApi.parseLatest(response),
  oxr(response) {
    if (response.status < 200 || response.status >= 300) throw new SourceError('oxr', `HTTP ${response.status}`, 'http');
    let payload;
    try {
      payload = oxrPayload.parse(parseJsonExact(response.body.toString('utf8')));
    } catch (error) {
      const problem = error instanceof z.ZodError ? z.prettifyError(error).replace(/\s*\n\s*/g, '; ') : (error as Error).message;
      throw new SourceError('oxr', problem, 'format');
    }
    return {
      base: payload.base,
      asOf: payload.timestamp,
      quotes: Object.entries(payload.rates).map(([code, value]) => ({ code, value })),
    };
  },
};

async function get(url: string, shown: string): Promise<HttpResponse> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ProductionRateError(shown, 'not a URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ProductionRateError(shown, 'not an http(s) URL');
  // user:password@ is sent as basic authentication: fetch refuses a URL holding it, quoting the URL in its error.
  const target = requestTarget(url);
  const headers = { accept: 'application/json', ...target.headers };
  const started = performance.now();
  let response: Response;
  try {
    response = await fetch(target.url, { signal: AbortSignal.timeout(TIMEOUT_MS), headers });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    // The URL is the whole request, key included: a message quoting it is not shown.
    const why = cause?.code ?? cause?.message ?? (error as Error).message;
    throw new ProductionRateError(shown, `no answer: ${scrub(why, [url, target.url, ...target.secrets])}`);
  }
  const length = Number(response.headers.get('content-length') ?? 0);
  if (length > MAX_BYTES) throw new ProductionRateError(shown, `answer larger than ${MAX_BYTES} bytes`);
  const body = Buffer.from(await response.arrayBuffer());
  if (body.length > MAX_BYTES) throw new ProductionRateError(shown, `answer larger than ${MAX_BYTES} bytes`);
  return { status: response.status, headers: Object.fromEntries(response.headers), body, durationMs: performance.now() - started };
}

/**
 * The URL without credentials, query values or key-like path segments (16 or more letters and digits, a digit among
 * them): an API key travels in any of them (ExchangeRate-API's in the path).
 */
export function shownUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    parsed.pathname = parsed.pathname
      .split('/')
      .map((segment) => (/^(?=.*\d)[A-Za-z0-9]{16,}$/.test(segment) ? '…' : segment))
      .join('/');
    for (const key of [...parsed.searchParams.keys()]) parsed.searchParams.set(key, '…');
    return parsed.toString().replaceAll('%E2%80%A6', '…');
  } catch {
    return '(the URL given)';
  }
}
