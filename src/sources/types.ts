/**
 * The contract every rate provider implements. A provider module only knows its own URLs and payload
 * format; HTTP policy (timeouts, retries, size cap, circuit breaker) lives in http.ts and orchestration
 * (primary, fallbacks, references) in src/jobs/pipeline.ts.
 */

export const SOURCE_NAMES = ['open-er-api', 'exchangerate-api', 'frankfurter', 'ecb'] as const;
export type SourceName = (typeof SOURCE_NAMES)[number];

/** The one check of a source's name, wherever one comes from (a flag, a setting, a stored row, a query string). */
export function isSourceName(name: string): name is SourceName {
  return (SOURCE_NAMES as readonly string[]).includes(name);
}

/**
 * A number exactly as the provider wrote it (JSON number token or XML attribute text), never passed
 * through a float. Validation (is it a number, finite, positive) happens in src/transform.
 */
export class ExactNumber {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/** One published quote: the currency code and its value as found in the payload, duplicates kept. */
export interface RawQuote {
  code: string;
  /** ExactNumber for numeric tokens/attributes; any other JSON value (string, null, object…) as parsed. */
  value: unknown;
}

/** A provider payload for one as-of time, parsed but not yet validated. */
export interface Extraction {
  source: SourceName;
  /** The base currency the payload says it is in ('USD', 'EUR'). */
  base: string;
  /** The base currency fxpipe asked for; a payload whose base differs is rejected whole. */
  requestedBase: string;
  /** The provider's as-of time for these rates. */
  asOf: Date;
  /** In published order; duplicate codes are kept so validation can reject them. */
  quotes: RawQuote[];
}

/** What is sent to a provider; redactedUrl and headers hold no secret and are what gets stored and logged. */
export interface SourceRequest {
  url: string;
  redactedUrl: string;
  headers: Record<string, string>;
  params: Record<string, string>;
  /** Values that must never be stored or logged (API keys). */
  secrets: string[];
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  durationMs: number;
}

/** Every HTTP attempt, successful or not: the pipeline writes each to bronze_extraction before parsing. */
export interface FetchAttempt {
  source: SourceName;
  request: SourceRequest;
  startedAt: Date;
  durationMs: number;
  /** Present when an HTTP response arrived (any status). */
  response?: HttpResponse;
  /** Network error, timeout, size cap: one line, secrets removed. */
  error?: string;
}

export interface SourceSettings {
  baseUrl: string;
  apiKey?: string;
}

export interface Source {
  readonly name: SourceName;
  /** The real provider's base URL, overridden by urlEnv. */
  readonly defaultBaseUrl: string;
  /** FXPIPE_<NAME>_URL. */
  readonly urlEnv: string;
  /** The base currency requested. */
  readonly requestedBase: string;
  /** Whether the provider needs an API key (EXCHANGERATE_API_KEY). */
  readonly needsKey: boolean;
  latestRequest(settings: SourceSettings): SourceRequest;
  /**
   * Parses one response of latestRequest. Throws SourceError (src/sources/errors.ts) naming the source and
   * what was wrong when the payload is not the provider's format or reports an error.
   */
  parseLatest(response: HttpResponse): Extraction;
}
