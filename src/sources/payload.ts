import type { z } from 'zod';
import { SourceError } from './errors.js';
import { DuplicateValues, JsonSyntaxError, parseJsonExact } from './json.js';
import type { HttpResponse, RawQuote, SourceName } from './types.js';

const PREVIEW_CHARS = 40;

export const isSuccessStatus = (status: number): boolean => status >= 200 && status < 300;

/** What a body looks like, for messages: "got text/html, starts '<html>…'". */
export function describeBody(response: HttpResponse): string {
  const contentType = response.headers['content-type']?.split(';')[0]?.trim() || 'no content type';
  const text = response.body.toString('utf8').replace(/\s+/g, ' ').trim();
  if (text === '') return `got ${contentType}, empty body`;
  const preview = text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS)}…` : text;
  return `got ${contentType}, starts '${preview}'`;
}

/**
 * The body parsed by parseJsonExact. A body that is not JSON fails as 'format', or as 'http' when the
 * status already says the request failed.
 */
export function readJsonBody(source: SourceName, response: HttpResponse): unknown {
  const text = response.body.toString('utf8').replace(/^\uFEFF/, '');
  const fail = (what: string) =>
    isSuccessStatus(response.status)
      ? new SourceError(source, what, 'format')
      : new SourceError(source, `HTTP ${response.status}, ${what}`, 'http');
  if (text.trim() === '') throw fail(`empty body (${describeBody(response)})`);
  try {
    return parseJsonExact(text);
  } catch (error) {
    if (!(error instanceof JsonSyntaxError)) throw error;
    const leadingBytes = Buffer.byteLength(text) - Buffer.byteLength(text.trimStart());
    if (!error.truncated && error.byte === leadingBytes) throw fail(`not JSON (${describeBody(response)})`);
    throw fail(error.message);
  }
}

/** A non-2xx response that is not a provider error payload. */
export function unexpectedStatus(source: SourceName, response: HttpResponse): SourceError {
  return new SourceError(source, `HTTP ${response.status} (${describeBody(response)})`, 'http');
}

/** Validates a parsed payload against its format's schema; a mismatch is a 'format' SourceError naming the first problem. */
export function parseShape<T extends z.ZodType>(source: SourceName, schema: T, data: unknown): z.output<T> {
  const result = schema.safeParse(data, { reportInput: true });
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new SourceError(source, issue ? describeIssue(issue) : 'payload not in the expected shape', 'format');
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const field = issue.path.map(String).join('.');
  if (field === '') return `payload: ${stripPrefix(issue.message)}`;
  if (issue.input instanceof DuplicateValues) return `field ${field} appears ${issue.input.occurrences.length} times with different values`;
  if (issue.code === 'invalid_type' && issue.input === undefined) return `missing field ${field}`;
  return `field ${field}: ${stripPrefix(issue.message)}`;
}

const stripPrefix = (message: string) => message.replace(/^Invalid input: /, '');

/** One RawQuote per published occurrence of each code, in published order. */
export function quotesFromRates(rates: Record<string, unknown>): RawQuote[] {
  return Object.entries(rates).flatMap(([code, value]) =>
    value instanceof DuplicateValues ? value.occurrences.map((occurrence) => ({ code, value: occurrence })) : [{ code, value }],
  );
}
