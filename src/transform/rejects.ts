/** Why a published value is quarantined in rejected_rates instead of loaded. */
export const REJECT_REASONS = {
  not_a_number: 'the value is not a number',
  not_finite: 'the value is not a finite number',
  non_positive: 'the rate is zero or negative',
  out_of_range: 'the rate has more than 14 integer or 24 decimal digits (more than every tier stores exactly)',
  bad_code: 'the currency code is not three upper-case letters',
  duplicate_code: 'the currency code appears more than once in the payload',
  base_mismatch: 'the payload is not in the base currency asked for',
} as const;
export type RejectReason = keyof typeof REJECT_REASONS;

export interface Reject {
  base: string;
  quote: string;
  rawValue: string | null;
  reason: RejectReason;
  detail: string;
}
