/**
 * How each simulated currency moves against the USD: fixed pegs, pegs to another currency, or a geometric
 * random walk with a realistic daily volatility (as a fraction; majors 0.3–0.65%) and, for currencies in
 * steady devaluation, a daily drift.
 */

export type Dynamics =
  /** Pegged to the USD: the published value never moves. */
  | { kind: 'fixed' }
  /** Moves exactly with `to`; ratio is the official parity, else the ratio in the seed. */
  | { kind: 'pegged'; to: string; ratio?: number }
  /** Log-return per day: volatility × N(0,1) + drift, plus the return of `tracks` (currencies that follow the euro). */
  | { kind: 'floating'; volatility: number; drift: number; tracks?: string };

const USD_PEGGED = [
  'USD',
  'AED',
  'ANG',
  'AWG',
  'BBD',
  'BHD',
  'BMD',
  'BSD',
  'BZD',
  'CUP',
  'DJF',
  'ERN',
  'JOD',
  'KYD',
  'LBP',
  'OMR',
  'PAB',
  'QAR',
  'SAR',
  'TMT',
  'XCD',
];

const PEGS: Record<string, { to: string; ratio?: number }> = {
  BGN: { to: 'EUR', ratio: 1.95583 },
  BAM: { to: 'EUR', ratio: 1.95583 },
  XAF: { to: 'EUR', ratio: 655.957 },
  XOF: { to: 'EUR', ratio: 655.957 },
  KMF: { to: 'EUR', ratio: 491.96775 },
  XPF: { to: 'EUR', ratio: 119.331742 },
  CVE: { to: 'EUR', ratio: 110.265 },
  STN: { to: 'EUR', ratio: 24.5 },
  HRK: { to: 'EUR', ratio: 7.5345 },
  DKK: { to: 'EUR' },
  FOK: { to: 'EUR' },
  FKP: { to: 'GBP' },
  GGP: { to: 'GBP' },
  GIP: { to: 'GBP' },
  IMP: { to: 'GBP' },
  JEP: { to: 'GBP' },
  SHP: { to: 'GBP' },
  KID: { to: 'AUD' },
  TVD: { to: 'AUD' },
  LSL: { to: 'ZAR' },
  NAD: { to: 'ZAR' },
  SZL: { to: 'ZAR' },
  BTN: { to: 'INR' },
  NPR: { to: 'INR' },
  BND: { to: 'SGD' },
  SLL: { to: 'SLE' },
  MOP: { to: 'HKD' },
};

const FLOATING: Record<string, { volatility: number; drift?: number; tracks?: string }> = {
  EUR: { volatility: 0.0045 },
  GBP: { volatility: 0.005 },
  JPY: { volatility: 0.006 },
  AUD: { volatility: 0.0065 },
  NZD: { volatility: 0.0065 },
  CAD: { volatility: 0.004 },
  CNY: { volatility: 0.0015 },
  HKD: { volatility: 0.0002 },
  SGD: { volatility: 0.003 },
  KRW: { volatility: 0.005 },
  TWD: { volatility: 0.003 },
  INR: { volatility: 0.002 },
  IDR: { volatility: 0.004 },
  MYR: { volatility: 0.0035 },
  THB: { volatility: 0.004 },
  PHP: { volatility: 0.003 },
  ILS: { volatility: 0.006 },
  MXN: { volatility: 0.008 },
  BRL: { volatility: 0.009 },
  CLP: { volatility: 0.007 },
  COP: { volatility: 0.008 },
  ZAR: { volatility: 0.009 },
  // European currencies move mostly with the euro.
  CHF: { volatility: 0.003, tracks: 'EUR' },
  SEK: { volatility: 0.004, tracks: 'EUR' },
  NOK: { volatility: 0.005, tracks: 'EUR' },
  PLN: { volatility: 0.003, tracks: 'EUR' },
  HUF: { volatility: 0.004, tracks: 'EUR' },
  CZK: { volatility: 0.0025, tracks: 'EUR' },
  RON: { volatility: 0.001, tracks: 'EUR' },
  RSD: { volatility: 0.0005, tracks: 'EUR' },
  MKD: { volatility: 0.0005, tracks: 'EUR' },
  ISK: { volatility: 0.003, tracks: 'EUR' },
  // Managed or crawling devaluations.
  ARS: { volatility: 0.0005, drift: 0.00066 },
  TRY: { volatility: 0.003, drift: 0.0012 },
  NGN: { volatility: 0.012, drift: 0.002 },
  VES: { volatility: 0.002, drift: 0.0005 },
  ZWL: { volatility: 0.004, drift: 0.003 },
  SYP: { volatility: 0.002, drift: 0.001 },
};

const DEFAULT_VOLATILITY = 0.004;

export function dynamicsOf(code: string): Dynamics {
  if (USD_PEGGED.includes(code)) return { kind: 'fixed' };
  const peg = PEGS[code];
  if (peg) return { kind: 'pegged', ...peg };
  const floating = FLOATING[code];
  return {
    kind: 'floating',
    volatility: floating?.volatility ?? DEFAULT_VOLATILITY,
    drift: floating?.drift ?? 0,
    tracks: floating?.tracks,
  };
}
