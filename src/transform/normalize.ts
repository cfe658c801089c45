import { ExactNumber, type Extraction } from '../sources/types.js';
import { SourceError } from '../sources/errors.js';
import { RateDecimal, rebasedRateText, storableRate } from './decimal.js';
import { REJECT_REASONS, type Reject, type RejectReason } from './rejects.js';

export const WAREHOUSE_BASE = 'USD';
const CODE = /^[A-Z]{3}$/;
const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const NON_FINITE = /^[+-]?(?:inf|infinity|nan)$/i;

/** One USD-based rate ready to load; value is exact decimal text. */
export interface Rate {
  quote: string;
  value: string;
}

/** A payload normalised to the warehouse's USD base, with its hard rejects. */
export interface NormalizedBatch {
  source: string;
  asOf: Date;
  base: typeof WAREHOUSE_BASE;
  rates: Rate[];
  rejects: Reject[];
  /** True when the values were computed (rebased from another base) rather than published as-is. */
  rebased: boolean;
}

/**
 * Validates every quote (hard rejects never reach the facts) and rebases to USD when the provider
 * publishes another base: USD→X = (B→X) / (B→USD) and USD→B = 1 / (B→USD).
 * Throws SourceError when a non-USD payload lacks a usable USD rate; a payload with nothing usable gives no rates
 * and every reject (the pipeline stores the rejects, then fails the source).
 */
export function normalize(extraction: Extraction): NormalizedBatch {
  const rejects: Reject[] = [];
  const reject = (quote: string, value: unknown, reason: RejectReason, detail?: string) =>
    rejects.push({ base: extraction.base, quote, rawValue: rawText(value), reason, detail: detail ?? REJECT_REASONS[reason] });

  if (extraction.base !== extraction.requestedBase) {
    for (const q of extraction.quotes)
      reject(q.code, q.value, 'base_mismatch', `asked for ${extraction.requestedBase}, got ${extraction.base}`);
    return { source: extraction.source, asOf: extraction.asOf, base: WAREHOUSE_BASE, rates: [], rejects, rebased: false };
  }

  const occurrences = new Map<string, number>();
  for (const q of extraction.quotes) occurrences.set(q.code, (occurrences.get(q.code) ?? 0) + 1);

  /** Each valid quote: its decimal, its published text, and the value as received (for a reject's raw_value). */
  const valid = new Map<string, { value: RateDecimal; text: string; raw: unknown }>();
  for (const q of extraction.quotes) {
    if (!CODE.test(q.code)) {
      reject(q.code, q.value, 'bad_code', `${REJECT_REASONS.bad_code}: ${JSON.stringify(q.code).slice(0, 40)}`);
      continue;
    }
    if ((occurrences.get(q.code) ?? 0) > 1) {
      reject(q.code, q.value, 'duplicate_code', `${q.code} appears ${occurrences.get(q.code)} times`);
      continue;
    }
    const checked = checkValue(q.value);
    if ('reason' in checked) {
      reject(q.code, q.value, checked.reason);
      continue;
    }
    valid.set(q.code, { ...checked, raw: q.value });
  }

  const base = extraction.base;
  let rates: Rate[];
  if (base === WAREHOUSE_BASE) {
    rates = [...valid].filter(([code]) => code !== base).map(([quote, { text }]) => ({ quote, value: text }));
  } else {
    const usd = valid.get(WAREHOUSE_BASE);
    if (!usd) {
      throw new SourceError(extraction.source, `no valid ${base}→${WAREHOUSE_BASE} rate in the payload to rebase with`, 'format');
    }
    rates = [];
    const derive = (quote: string, value: RateDecimal, raw: unknown) => {
      const text = rebasedRateText(value, usd.value);
      if (storableRate(new RateDecimal(text))) rates.push({ quote, value: text });
      else reject(quote, raw, 'out_of_range', `${REJECT_REASONS.out_of_range}: ${quote} rebased to ${WAREHOUSE_BASE} is ${text}`);
    };
    derive(base, new RateDecimal(1), usd.raw);
    for (const [quote, { value, raw }] of valid) {
      if (quote === WAREHOUSE_BASE || quote === base) continue;
      derive(quote, value, raw);
    }
  }
  return { source: extraction.source, asOf: extraction.asOf, base: WAREHOUSE_BASE, rates, rejects, rebased: base !== WAREHOUSE_BASE };
}

type Checked = { value: RateDecimal; text: string } | { reason: RejectReason };

function checkValue(value: unknown): Checked {
  if (!(value instanceof ExactNumber)) return { reason: 'not_a_number' };
  const text = value.text.trim();
  if (NON_FINITE.test(text)) return { reason: 'not_finite' };
  if (!JSON_NUMBER.test(text)) return { reason: 'not_a_number' };
  if (!Number.isFinite(Number(text))) return { reason: 'not_finite' };
  const decimal = new RateDecimal(text);
  if (decimal.lte(0)) return { reason: 'non_positive' };
  if (!storableRate(decimal)) return { reason: 'out_of_range' };
  return { value: decimal, text: canonical(text, decimal) };
}

/** The published text when it is plain decimal; exponent notation (1e-9) spelled out for numeric. */
function canonical(text: string, decimal: RateDecimal): string {
  return /[eE]/.test(text) ? decimal.toFixed() : text;
}

function rawText(value: unknown): string | null {
  if (value instanceof ExactNumber) return value.text.slice(0, 200);
  if (value === undefined) return null;
  return JSON.stringify(value)?.slice(0, 200) ?? null;
}
