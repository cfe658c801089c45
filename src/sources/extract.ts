import type { SourceBreakers } from './breaker.js';
import { fetchWithPolicy, type HttpPolicy } from './http.js';
import type { Extraction, FetchAttempt, Source, SourceSettings } from './types.js';

/**
 * Fetches and parses a source's latest rates behind its circuit breaker. Network, HTTP, provider and
 * format errors all count as failures of the source; a missing setting (SourceError 'config') is
 * thrown before the breaker sees anything.
 */
export async function extractLatest(
  source: Source,
  settings: SourceSettings,
  policy: HttpPolicy,
  onAttempt: (attempt: FetchAttempt) => Promise<void>,
  breakers: SourceBreakers,
): Promise<Extraction> {
  const request = source.latestRequest(settings);
  return breakers.run(source.name, async () => source.parseLatest(await fetchWithPolicy(source.name, request, policy, onAttempt)));
}
