import { setTimeout as sleep } from 'node:timers/promises';
import pRetry, { AbortError } from 'p-retry';
import { Agent, request as undiciRequest } from 'undici';
import { oneLine } from '../errors.js';
import { scrub } from '../util/secrets.js';
import { SourceError } from './errors.js';
import { retryAfterMs } from './retry-after.js';
import type { FetchAttempt, HttpResponse, SourceName, SourceRequest } from './types.js';

export interface HttpPolicy {
  connectTimeoutMs: number;
  /** Per attempt, from sending the request to the last byte of the body. */
  totalTimeoutMs: number;
  maxBytes: number;
  /** Attempts after the first one. */
  retries: number;
  minBackoffMs: number;
  maxBackoffMs: number;
  /** Longest wait a Retry-After header may impose. */
  maxRetryAfterMs: number;
}

export const defaultHttpPolicy: HttpPolicy = {
  connectTimeoutMs: 5000,
  totalTimeoutMs: 20_000,
  maxBytes: 5 * 1024 * 1024,
  retries: 3,
  minBackoffMs: 500,
  maxBackoffMs: 10_000,
  maxRetryAfterMs: 60_000,
};

/** One attempt that did not deliver a usable response. */
class AttemptFailure extends Error {
  constructor(
    message: string,
    readonly kind: 'network' | 'http',
    readonly retryable: boolean,
    /** The wait the server asked for (Retry-After), replacing the computed backoff. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

const isRetryableStatus = (status: number) => status === 429 || status >= 500;

/**
 * GETs a source request under the policy: connect and total timeouts, a size cap, retries with
 * exponential backoff and jitter on network errors, timeouts, 5xx and 429 (honouring Retry-After).
 * Every attempt is handed to onAttempt, awaited, before anything else happens. Returns the response
 * of a 2xx or any other non-retryable status (provider error payloads come with 4xx); throws
 * SourceError 'network' or 'http' once retries are exhausted or the response is too large.
 */
export async function fetchWithPolicy(
  source: SourceName,
  request: SourceRequest,
  policy: HttpPolicy,
  onAttempt: (attempt: FetchAttempt) => Promise<void>,
): Promise<HttpResponse> {
  const recorded = recordedRequest(request);
  const agent = new Agent({ connect: { timeout: policy.connectTimeoutMs } });
  let attempts = 0;

  const attemptOnce = async (): Promise<HttpResponse> => {
    attempts += 1;
    const startedAt = new Date();
    const started = performance.now();
    const outcome = await send(request, policy, agent);
    if (outcome instanceof AttemptFailure) {
      await report(onAttempt, { source, request: recorded, startedAt, durationMs: performance.now() - started, error: outcome.message });
      throw outcome.retryable ? outcome : new AbortError(outcome);
    }
    const response = outcome;
    await report(onAttempt, {
      source,
      request: recorded,
      startedAt,
      durationMs: response.durationMs,
      response: recordedResponse(response, request),
    });
    if (!isRetryableStatus(response.status)) return response;
    const wait = response.status === 429 || response.status === 503 ? retryAfterMs(response.headers['retry-after']) : undefined;
    throw new AttemptFailure(`HTTP ${response.status}`, 'http', true, wait);
  };

  try {
    return await pRetry(attemptOnce, {
      retries: policy.retries,
      factor: 2,
      minTimeout: policy.minBackoffMs,
      maxTimeout: policy.maxBackoffMs,
      randomize: true,
      // A Retry-After wait is slept here instead of p-retry's backoff; such a failure does not
      // consume p-retry's budget, so the attempt count below is what caps the retries.
      shouldConsumeRetry: ({ error }) => !(error instanceof AttemptFailure && error.retryAfterMs !== undefined),
      onFailedAttempt: async ({ error, attemptNumber }) => {
        if (attemptNumber > policy.retries) throw error;
        if (error instanceof AttemptFailure && error.retryAfterMs !== undefined) {
          await sleep(Math.min(error.retryAfterMs, policy.maxRetryAfterMs));
        }
      },
    });
  } catch (error) {
    if (!(error instanceof AttemptFailure)) throw error;
    const tries = `${attempts} attempt${attempts === 1 ? '' : 's'}`;
    throw new SourceError(source, `${error.message} after ${tries} (${request.redactedUrl})`, error.kind);
  } finally {
    await agent.destroy();
  }
}

/** One GET under the policy's timeouts and size cap; a failure is returned, not thrown. */
async function send(request: SourceRequest, policy: HttpPolicy, agent: Agent): Promise<HttpResponse | AttemptFailure> {
  const started = performance.now();
  const signal = AbortSignal.timeout(policy.totalTimeoutMs);
  const tooLarge = new AttemptFailure(`response larger than ${policy.maxBytes} bytes`, 'http', false);
  try {
    const { statusCode, headers, body } = await undiciRequest(request.url, {
      method: 'GET',
      headers: request.headers,
      dispatcher: agent,
      signal,
    });
    if (Number(headers['content-length']) > policy.maxBytes) {
      body.destroy();
      return tooLarge;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > policy.maxBytes) return tooLarge;
      chunks.push(chunk);
    }
    return { status: statusCode, headers: flattenHeaders(headers), body: Buffer.concat(chunks), durationMs: performance.now() - started };
  } catch (error) {
    if (signal.aborted) return new AttemptFailure(`timed out after ${policy.totalTimeoutMs} ms`, 'network', true);
    if ((error as { code?: unknown }).code === 'UND_ERR_CONNECT_TIMEOUT') {
      return new AttemptFailure(`connect timed out after ${policy.connectTimeoutMs} ms`, 'network', true);
    }
    return new AttemptFailure(redact(oneLine(error), request), 'network', true);
  }
}

/** The request as it may be stored and logged: the redacted URL, no secrets. */
function recordedRequest(request: SourceRequest): SourceRequest {
  const clean = (values: Record<string, string>) =>
    Object.fromEntries(Object.entries(values).map(([key, value]) => [key, scrub(value, request.secrets)]));
  return {
    url: request.redactedUrl,
    redactedUrl: request.redactedUrl,
    headers: clean(request.headers),
    params: clean(request.params),
    secrets: [],
  };
}

/** The response as it may be stored: a body or header echoing a secret gets *** in its place. */
function recordedResponse(response: HttpResponse, request: SourceRequest): HttpResponse {
  const text = response.body.toString('utf8');
  const scrubbed = redact(text, request);
  const headers = Object.fromEntries(Object.entries(response.headers).map(([key, value]) => [key, redact(value, request)]));
  return { ...response, headers, body: scrubbed === text ? response.body : Buffer.from(scrubbed) };
}

function redact(text: string, request: SourceRequest): string {
  return scrub(text.split(request.url).join(request.redactedUrl), request.secrets);
}

/** onAttempt failing (the pipeline could not store the attempt) stops the fetch instead of being retried. */
async function report(onAttempt: (attempt: FetchAttempt) => Promise<void>, attempt: FetchAttempt): Promise<void> {
  try {
    await onAttempt(attempt);
  } catch (error) {
    throw new AbortError(error instanceof Error ? error : new Error(String(error)));
  }
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value !== undefined) flat[key.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}
