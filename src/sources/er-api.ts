import { z } from 'zod';
import { SourceError } from './errors.js';
import { isSuccessStatus, parseShape, quotesFromRates, readJsonBody, unexpectedStatus } from './payload.js';
import { ExactNumber, type Extraction, type HttpResponse, type SourceName } from './types.js';

/** What ExchangeRate-API's error-types mean (both the open and the keyed endpoint). */
const ERROR_TYPES: Record<string, string> = {
  'unsupported-code': 'the currency code is not supported',
  'malformed-request': 'the request is not in the form the API expects',
  'invalid-key': 'the API key is not valid',
  'inactive-account': 'the account is inactive (its email address is not confirmed)',
  'quota-reached': 'the account has used all the requests its plan allows',
};

const errorPayload = z.object({ result: z.literal('error'), 'error-type': z.string() });

/** time_last_update_unix: whole seconds since 1970. */
export const unixSeconds = z
  .instanceof(ExactNumber, { error: 'expected a number of seconds' })
  .refine((value) => /^\d+$/.test(value.text), 'expected whole seconds since 1970')
  .transform((value) => new Date(Number(value.text) * 1000));

const rateTable = z.record(z.string(), z.unknown());

/**
 * The response body as JSON, once it is known to be neither an ExchangeRate-API error payload
 * ('provider') nor some other failed response ('http').
 */
export function readErApiBody(source: SourceName, response: HttpResponse): unknown {
  const data = readJsonBody(source, response);
  const error = errorPayload.safeParse(data);
  if (error.success) {
    const type = error.data['error-type'];
    const meaning = ERROR_TYPES[type] ?? 'an error the provider does not document';
    const status = isSuccessStatus(response.status) ? '' : ` (HTTP ${response.status})`;
    throw new SourceError(source, `${type}: ${meaning}${status}`, 'provider');
  }
  if (!isSuccessStatus(response.status)) throw unexpectedStatus(source, response);
  return data;
}

/**
 * A `latest` answer of ExchangeRate-API (keyed: rates under conversion_rates) or open.er-api (rates under rates), asked
 * for in base: the same payload otherwise.
 */
export function parseErApiLatest(
  source: SourceName,
  response: HttpResponse,
  base: string,
  ratesKey: 'rates' | 'conversion_rates',
): Extraction {
  const shape = z.object({
    result: z.literal('success'),
    base_code: z.string(),
    time_last_update_unix: unixSeconds,
    [ratesKey]: rateTable,
  });
  const payload = parseShape(source, shape, readErApiBody(source, response)) as { base_code: string; time_last_update_unix: Date } & Record<
    string,
    Record<string, unknown>
  >;
  return {
    source,
    base: payload.base_code,
    requestedBase: base,
    asOf: payload.time_last_update_unix,
    quotes: quotesFromRates(payload[ratesKey]!),
  };
}
