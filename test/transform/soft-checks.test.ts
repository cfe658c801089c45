import { describe, expect, it } from 'vitest';
import { compareWithReference, zScoreOutliers, type Deviation } from '../../src/transform/soft-checks.js';
import type { Rate } from '../../src/transform/normalize.js';
import { asFraction, parseExact, roundPlaces, roundSignificant, seeded } from './bigint-oracle.js';

const rate = (quote: string, value: string): Rate => ({ quote, value });
const flaggedQuotes = (rates: Rate[], history: Map<string, string[]>, threshold: number) =>
  zScoreOutliers(rates, history, threshold).map((f) => f.quote);

/**
 * The z-score oracle: log returns as differences of logarithms (ln b − ln a, not ln(b/a)), mean and
 * sample variance by Welford's one-pass method (not the two sums the module uses).
 */
function oracleZ(history: string[], value: string): number {
  const logs = history.map((v) => Math.log(Number(v)));
  let n = 0;
  let mean = 0;
  let m2 = 0;
  for (let i = 1; i < logs.length; i++) {
    const r = logs[i]! - logs[i - 1]!;
    n++;
    const delta = r - mean;
    mean += delta / n;
    m2 += delta * (r - mean);
  }
  const sd = Math.sqrt(m2 / (n - 1));
  return (Math.log(Number(value)) - logs[logs.length - 1]! - mean) / sd;
}

describe('zScoreOutliers', () => {
  // 100, 101, 100, 101, … (11 values, 10 returns: ±ln 1.01 five times each). Mean 0; sample standard
  // deviation ln(1.01)·√(10/9). A move to 105 is ln(1.05), so by hand z = ln 1.05 / (ln 1.01 · √(10/9)) ≈ 4.6517.
  const zigzag = Array.from({ length: 11 }, (_, i) => (i % 2 === 0 ? '100' : '101'));
  const zigzagZ = Math.log(1.05) / (Math.log(1.01) * Math.sqrt(10 / 9));

  it('computes z against the sample standard deviation of the log returns (worked by hand)', () => {
    expect(zigzagZ).toBeCloseTo(4.6517, 4);
    expect(oracleZ(zigzag, '105')).toBeCloseTo(zigzagZ, 10);
    const history = new Map([['EUR', zigzag]]);
    expect(zScoreOutliers([rate('EUR', '105')], history, 3)).toEqual([{ quote: 'EUR', z: 4.65 }]);
    // Just below z: flagged; just above: not. With the population deviation (÷n) z would be
    // ln 1.05 / ln 1.01 ≈ 4.90 and still be flagged at 4.655.
    expect(flaggedQuotes([rate('EUR', '105')], history, zigzagZ - 0.001)).toEqual(['EUR']);
    expect(flaggedQuotes([rate('EUR', '105')], history, zigzagZ + 0.001)).toEqual([]);
    expect(flaggedQuotes([rate('EUR', '105')], history, 4.655)).toEqual([]);
  });

  it('subtracts the mean return: a pair with a steady drift is judged on its move against that drift', () => {
    // Steps ×1.02 and ×1 alternately (exact decimals): returns ln 1.02 and 0, mean ln(1.02)/2, sample
    // deviation (ln(1.02)/2)·√(10/9). By hand: another ×1.02 is z = √0.9 ≈ 0.9487; a ÷1.02 is z = −3/√(10/9) ≈ −2.8460.
    const drift = [
      '100',
      '102',
      '102',
      '104.04',
      '104.04',
      '106.1208',
      '106.1208',
      '108.243216',
      '108.243216',
      '110.40808032',
      '110.40808032',
    ];
    const history = new Map([['GBP', drift]]);
    const up = Math.sqrt(0.9);
    const down = -3 / Math.sqrt(10 / 9);
    expect(oracleZ(drift, '112.6162419264')).toBeCloseTo(up, 9);
    expect(oracleZ(drift, '108.243216')).toBeCloseTo(down, 9);

    expect(zScoreOutliers([rate('GBP', '112.6162419264')], history, 0.9)).toEqual([{ quote: 'GBP', z: 0.95 }]);
    expect(flaggedQuotes([rate('GBP', '112.6162419264')], history, up + 0.001)).toEqual([]);
    // Without the mean subtracted the same move would be z ≈ 1.90.
    expect(flaggedQuotes([rate('GBP', '112.6162419264')], history, 1.5)).toEqual([]);

    // A fall is flagged on |z|, and reported with its sign.
    expect(zScoreOutliers([rate('GBP', '108.243216')], history, 2.8)).toEqual([{ quote: 'GBP', z: -2.85 }]);
    expect(flaggedQuotes([rate('GBP', '108.243216')], history, Math.abs(down) - 0.001)).toEqual(['GBP']);
    expect(flaggedQuotes([rate('GBP', '108.243216')], history, Math.abs(down) + 0.001)).toEqual([]);
  });

  it('measures the move from the newest stored rate: history is oldest first', () => {
    // Rising 100 → 110 in steps of 1: a new 110 is no move from the newest (skipped), though it
    // would be a large one from the oldest.
    const rising = Array.from({ length: 11 }, (_, i) => String(100 + i));
    const history = new Map([['JPY', rising]]);
    expect(zScoreOutliers([rate('JPY', '110')], history, 0.5)).toEqual([]);
    // 100 after 110 is a fall far outside the history's moves (all about +1 %).
    const fall = zScoreOutliers([rate('JPY', '100')], history, 3);
    expect(fall.map((f) => f.quote)).toEqual(['JPY']);
    expect(fall[0]!.z).toBeLessThan(0);
    expect(Math.abs(fall[0]!.z - oracleZ(rising, '100'))).toBeLessThanOrEqual(0.005 + 1e-9);
  });

  it('needs 10 stored moves (11 rates) before it judges a pair', () => {
    const eleven = Array.from({ length: 11 }, (_, i) => (i % 2 === 0 ? '1.10' : '1.11'));
    const ten = eleven.slice(1);
    // A 50 % jump: an outlier against any of these histories.
    expect(flaggedQuotes([rate('CHF', '1.65')], new Map([['CHF', eleven]]), 3)).toEqual(['CHF']);
    expect(flaggedQuotes([rate('CHF', '1.65')], new Map([['CHF', ten]]), 3)).toEqual([]);
    expect(flaggedQuotes([rate('CHF', '1.65')], new Map([['CHF', []]]), 3)).toEqual([]);
    expect(flaggedQuotes([rate('CHF', '1.65')], new Map(), 3)).toEqual([]);
  });

  it('judges every pair on its own history and reports the flagged ones in the order of the rates', () => {
    const history = new Map([
      ['AUD', zigzag],
      ['CAD', zigzag],
      ['NZD', zigzag],
    ]);
    const rates = [rate('NZD', '105'), rate('AUD', '100.5'), rate('SEK', '500'), rate('CAD', '95')];
    const found = zScoreOutliers(rates, history, 3);
    expect(found.map((f) => f.quote)).toEqual(['NZD', 'CAD']);
    expect(found[0]!.z).toBe(4.65);
    // Newest stored 100 → 95: ln 0.95 / (ln 1.01 · √(10/9)), by hand ≈ −4.8904.
    const cadZ = Math.log(0.95) / (Math.log(1.01) * Math.sqrt(10 / 9));
    expect(cadZ).toBeCloseTo(-4.8904, 4);
    expect(found[1]!.z).toBe(-4.89);
  });

  it('skips a rate that did not move, whatever the history (1.50 is 1.5)', () => {
    const flat = Array.from({ length: 12 }, () => '1.5');
    expect(
      zScoreOutliers(
        [rate('BHD', '1.5'), rate('OMR', '1.50')],
        new Map([
          ['BHD', flat],
          ['OMR', flat],
        ]),
        0,
      ),
    ).toEqual([]);
  });

  it('flags any move of a pair whose history never moved (z is infinite)', () => {
    const flat = Array.from({ length: 11 }, () => '3.6725');
    const findings = zScoreOutliers([rate('AED', '3.6726')], new Map([['AED', flat]]), 1e9);
    expect(findings).toEqual([{ quote: 'AED', z: Infinity }]);
  });

  // Found by this test and fixed: z was +Infinity whatever the direction; the formula gives (move − 0) / 0 = −Infinity for a fall.
  it('reports a fall against a history that never moved with a negative z', () => {
    const flat = Array.from({ length: 11 }, () => '3.6725');
    expect(zScoreOutliers([rate('AED', '3.6724')], new Map([['AED', flat]]), 3)).toEqual([{ quote: 'AED', z: -Infinity }]);
  });

  // Found by this test and fixed: with a zero deviation only `move === 0` was spared. A pair whose every stored move is
  // the same non-zero return (×2 each time: returns all ln 2, deviation exactly 0 in floats) moving by it again is no surprise.
  it('does not flag a move equal to every past move of the pair', () => {
    const doubling = Array.from({ length: 11 }, (_, i) => String(2 ** i));
    expect(zScoreOutliers([rate('XAU', '2048')], new Map([['XAU', doubling]]), 3)).toEqual([]);
  });

  it('agrees with the Welford oracle on 300 generated pairs', () => {
    const random = seeded(2024);
    const threshold = 2.5;
    const rates: Rate[] = [];
    const history = new Map<string, string[]>();
    const expected: { quote: string; z: number }[] = [];
    for (let i = 0; i < 300; i++) {
      const quote = `Q${String.fromCharCode(65 + (Math.floor(i / 26) % 26))}${String.fromCharCode(65 + (i % 26))}`;
      const length = 11 + Math.floor(random() * 30);
      const volatility = 0.001 + random() * 0.02;
      let value = 0.01 + random() * 5000;
      const series: string[] = [];
      for (let k = 0; k < length; k++) {
        series.push(value.toFixed(6));
        value *= Math.exp((random() - 0.5) * 2 * volatility);
      }
      const last = Number(series[series.length - 1]);
      const next = (last * Math.exp((random() - 0.5) * 10 * volatility)).toFixed(6);
      history.set(quote, series);
      rates.push(rate(quote, next));
      if (next === series[series.length - 1]) continue;
      const z = oracleZ(series, next);
      // No case so close to the threshold that float noise could decide it.
      expect(Math.abs(Math.abs(z) - threshold)).toBeGreaterThan(1e-9);
      if (Math.abs(z) > threshold) expected.push({ quote, z });
    }
    const found = zScoreOutliers(rates, history, threshold);
    expect(found.map((f) => f.quote)).toEqual(expected.map((f) => f.quote));
    expect(expected.length).toBeGreaterThan(20);
    expect(expected.length).toBeLessThan(280);
    found.forEach((f, i) => expect(Math.abs(f.z - expected[i]!.z)).toBeLessThanOrEqual(0.005 + 1e-9));
  });
});

/** (primary − reference) / reference × 100, to 6 decimals half to even, in BigInt; −0 read as 0. */
function oraclePct(primary: string, reference: string): number {
  const p = asFraction(parseExact(primary));
  const r = asFraction(parseExact(reference));
  const num = (p.num * r.den - r.num * p.den) * 100n;
  const den = r.num * p.den;
  return Number(roundPlaces(num, den, 6).text);
}
const noNegativeZero = (d: Deviation) => ({ ...d, deviationPct: d.deviationPct === 0 ? 0 : d.deviationPct });

describe('compareWithReference', () => {
  it("gives the percent deviation of each rate both publish, in the primary's order", () => {
    // The ECB's 2025-05-09 AUD rebased to USD (1.7572 / 1.1252 = 1.56167792392463|562… by bc, to 15
    // digits) against Frankfurter's 1.5617.
    const aud = roundSignificant(17572n, 11252n, 15);
    expect(aud).toBe('1.56167792392464');
    const primary = [rate('JPY', '145.183078563811'), rate('AUD', aud), rate('XDR', '0.748595'), rate('AED', '3.6725')];
    const reference = [rate('AUD', '1.5617'), rate('AED', '3.673'), rate('JPY', '145.18'), rate('SEK', '9.7')];
    const out = compareWithReference(primary, reference);
    expect(out.map((d) => d.quote)).toEqual(['JPY', 'AUD', 'AED']);
    expect(out).toEqual([
      { quote: 'JPY', primary: '145.183078563811', reference: '145.18', deviationPct: oraclePct('145.183078563811', '145.18') },
      { quote: 'AUD', primary: aud, reference: '1.5617', deviationPct: oraclePct(aud, '1.5617') },
      { quote: 'AED', primary: '3.6725', reference: '3.673', deviationPct: oraclePct('3.6725', '3.673') },
    ]);
    // By hand (bc): −0.0005 / 3.673 × 100 = −0.0136128505…; 0.003078563811 / 145.18 × 100 = 0.0021205150…;
    // (1.56167792392464 − 1.5617) / 1.5617 × 100 = −0.0014135925…
    expect(out[2]!.deviationPct).toBe(-0.013613);
    expect(out[0]!.deviationPct).toBe(0.002121);
    expect(out[1]!.deviationPct).toBe(-0.001414);
  });

  it('compares values, not spellings, and keeps both texts as given', () => {
    expect(compareWithReference([rate('EUR', '0.9130')], [rate('EUR', '0.913')])).toEqual([
      { quote: 'EUR', primary: '0.9130', reference: '0.913', deviationPct: 0 },
    ]);
  });

  it('is relative to the reference: +100 % when the primary is double it, −50 % when half', () => {
    expect(compareWithReference([rate('A', '2')], [rate('A', '1')])[0]!.deviationPct).toBe(100);
    expect(compareWithReference([rate('A', '1')], [rate('A', '2')])[0]!.deviationPct).toBe(-50);
    expect(compareWithReference([rate('A', '1')], [rate('A', '3')])[0]!.deviationPct).toBe(-66.666667);
  });

  it('rounds to 6 decimals half to even on an exact tie', () => {
    const pct = (p: string) => compareWithReference([rate('X', p)], [rate('X', '1')])[0]!.deviationPct;
    // 1.000000025 is +0.0000025 %: a tie at the 7th decimal; half-even keeps 0.000002 (half-up: 0.000003).
    expect(pct('1.000000025')).toBe(0.000002);
    expect(pct('1.000000035')).toBe(0.000004);
    expect(pct('0.999999975')).toBe(-0.000002);
    expect(pct('1.0000000250001')).toBe(0.000003);
  });

  it('agrees with the BigInt oracle on 500 generated pairs', () => {
    const random = seeded(509);
    const primary: Rate[] = [];
    const reference: Rate[] = [];
    const expected: number[] = [];
    for (let i = 0; i < 500; i++) {
      const quote = `Q${i}`;
      const ref = (0.0001 + random() * 20000).toFixed(1 + Math.floor(random() * 8));
      const prim = (Number(ref) * (1 + (random() - 0.5) * 0.02)).toPrecision(1 + Math.floor(random() * 15));
      if (Number(ref) === 0) continue;
      primary.push(rate(quote, prim));
      reference.push(rate(quote, ref));
      expected.push(oraclePct(prim, ref));
    }
    const out = compareWithReference(primary, reference).map(noNegativeZero);
    expect(out.map((d) => d.deviationPct)).toEqual(expected);
  });

  it('gives nothing when the sources share no quote', () => {
    expect(compareWithReference([rate('EUR', '0.9')], [rate('GBP', '0.8')])).toEqual([]);
    expect(compareWithReference([], [rate('GBP', '0.8')])).toEqual([]);
  });
});
