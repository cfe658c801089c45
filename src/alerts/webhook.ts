import pRetry, { AbortError } from 'p-retry';
import { oneLine } from '../errors.js';
import { requestTarget, scrub } from '../util/secrets.js';
import { fxpipeVersion } from '../util/version.js';

const WEBHOOK_ATTEMPTS = 3;
const FIRST_BACKOFF_MS = 250;
/** However long each attempt may take, a delivery never holds up a run longer than this. */
const MAX_BUDGET_MS = 10_000;

/** The longest one delivery can take: every attempt timing out plus the backoff between them (250 ms, 500 ms), at most 10 s. */
export function deliveryBudgetMs(timeoutMs: number): number {
  let backoff = 0;
  for (let retry = 0; retry < WEBHOOK_ATTEMPTS - 1; retry++) backoff += FIRST_BACKOFF_MS * 2 ** retry;
  return Math.min(WEBHOOK_ATTEMPTS * timeoutMs + backoff, MAX_BUDGET_MS);
}

export interface Delivery {
  delivered: boolean;
  attempts: number;
  error?: string;
}

/**
 * POSTs body as JSON; retries network errors, timeouts, 5xx, 408 and 429, never longer than deliveryBudgetMs.
 * Never throws. The URL is a secret: it appears in no error this returns.
 */
export async function postJson(url: string, body: unknown, timeoutMs: number): Promise<Delivery> {
  const deadline = AbortSignal.timeout(deliveryBudgetMs(timeoutMs));
  // user:password@ in the URL is sent as basic authentication (fetch refuses a URL holding it): src/util/secrets.ts.
  const target = requestTarget(url);
  const headers = { 'content-type': 'application/json', 'user-agent': `fxpipe/${fxpipeVersion}`, ...target.headers };
  let attempts = 0;
  const attempt = async () => {
    attempts++;
    const response = await fetch(target.url, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      redirect: 'error',
      signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), deadline]),
    });
    await response.arrayBuffer();
    if (response.ok) return;
    const failure = new Error(`HTTP ${response.status}`);
    const retryable = response.status >= 500 || response.status === 408 || response.status === 429;
    throw retryable ? failure : new AbortError(failure);
  };
  try {
    await pRetry(attempt, { retries: WEBHOOK_ATTEMPTS - 1, minTimeout: FIRST_BACKOFF_MS, factor: 2, randomize: false, signal: deadline });
    return { delivered: true, attempts };
  } catch (error) {
    return { delivered: false, attempts, error: scrub(describeFailure(error, target.url, timeoutMs), [url, ...target.secrets]) };
  }
}

function describeFailure(error: unknown, url: string, timeoutMs: number): string {
  const err = error as Error & { cause?: { code?: string; message?: string } };
  let text: string;
  if (err?.name === 'TimeoutError') text = `no answer within ${timeoutMs} ms`;
  else if (err?.cause?.code) text = `${err.cause.code}${err.cause.message ? ` ${err.cause.message}` : ''}`;
  else text = oneLine(error);
  const { pathname, search } = new URL(url);
  return scrub(text, [url, `${pathname}${search}`.length > 1 ? `${pathname}${search}` : undefined]);
}
