import { describe, expect, it } from 'vitest';
import {
  DERIVED_SIGNIFICANT_DIGITS,
  MAX_DECIMAL_DIGITS,
  MAX_INTEGER_DIGITS,
  RateDecimal,
  derivedRateText,
  storableRate,
} from '../../src/transform/decimal.js';
import { asFraction, parseExact, roundSignificant, seeded } from './bigint-oracle.js';

/** The oracle's answer for text rounded to the derived digits: BigInt only, no decimal.js. */
const expectedDerived = (text: string, mode: 'half-even' | 'half-up' = 'half-even') => {
  const { num, den } = asFraction(parseExact(text));
  return roundSignificant(num, den, 15, mode);
};

describe('the oracle itself (so a wrong oracle cannot pass a wrong module)', () => {
  it('agrees with digits worked out by hand (bc, scale=30)', () => {
    // 1 / 1.1252 = 0.888730892285815854959… → 15 digits, the 16th is 8: up.
    expect(roundSignificant(10000n, 11252n, 15)).toBe('0.888730892285816');
    // 163.36 / 1.1252 = 145.183078563810878… → …811.
    expect(roundSignificant(1633600n, 11252n, 15)).toBe('145.183078563811');
    // 1.9558 / 1.1252 = 1.738179879132598649… → 1.73817987913260, trailing zero dropped.
    expect(roundSignificant(19558n, 11252n, 15)).toBe('1.7381798791326');
    expect(roundSignificant(1n, 3n, 5)).toBe('0.33333');
    expect(roundSignificant(2n, 3n, 5)).toBe('0.66667');
    expect(roundSignificant(99999n, 1n, 4)).toBe('100000');
    expect(roundSignificant(-25n, 10n, 1)).toBe('-2');
  });

  it('tells half-even from half-up on a tie, and agrees with it off ties', () => {
    expect(roundSignificant(25n, 10n, 1)).toBe('2');
    expect(roundSignificant(25n, 10n, 1, 'half-up')).toBe('3');
    expect(roundSignificant(35n, 10n, 1)).toBe('4');
    expect(roundSignificant(251n, 100n, 1)).toBe('3');
  });
});

describe('RateDecimal', () => {
  it('computes with 34 significant digits', () => {
    expect(new RateDecimal(1).div(3).toFixed()).toBe(`0.${'3'.repeat(34)}`);
    expect(new RateDecimal(2).div(3).toFixed()).toBe(roundSignificant(2n, 3n, 34));
    expect(new RateDecimal(2).div(3).toFixed()).toBe(`0.${'6'.repeat(33)}7`);
    // 35 digits would show one more 3: precision 35 or more fails here.
    expect(new RateDecimal(1).div(3).toFixed()).not.toBe(`0.${'3'.repeat(35)}`);
  });

  it('rounds its arithmetic half to even on an exact tie at the 35th digit', () => {
    // 1 + 5e-34: 35 significant digits ending …0|5: the 34th digit (0) is even, stays.
    expect(new RateDecimal(1).plus('5e-34').toFixed()).toBe('1');
    // 1 + 15e-34: …1|5: the 34th digit (1) is odd, goes up to 2. Half-up would agree here, half-down not.
    expect(new RateDecimal(1).plus('1.5e-33').toFixed()).toBe(`1.${'0'.repeat(32)}2`);
    // Half-up would give 1.000…001 for the first case.
    expect(roundSignificant(10n ** 34n + 5n, 10n ** 34n, 34, 'half-up')).toBe(`1.${'0'.repeat(32)}1`);
  });
});

describe('derivedRateText', () => {
  it('keeps 15 significant digits', () => {
    expect(DERIVED_SIGNIFICANT_DIGITS).toBe(15);
    expect(derivedRateText(new RateDecimal(1).div(3))).toBe('0.333333333333333');
    expect(derivedRateText(new RateDecimal(2).div(3))).toBe('0.666666666666667');
    expect(derivedRateText(new RateDecimal(10000).div(11252))).toBe('0.888730892285816');
    // Exactly 15 digits: unchanged.
    expect(derivedRateText(new RateDecimal('123456789012345'))).toBe('123456789012345');
    expect(derivedRateText(new RateDecimal('0.0000123456789012345'))).toBe('0.0000123456789012345');
    // Fewer digits: unchanged, no padding.
    expect(derivedRateText(new RateDecimal('1.5'))).toBe('1.5');
  });

  it('rounds a tie at the 16th digit half to even (hand-made ties)', () => {
    const ties: [input: string, halfEven: string, halfUp: string][] = [
      // 15th digit 0 (even): stays.
      ['1.000000000000005', '1', '1.00000000000001'],
      // 15th digit 1 (odd): up to 2.
      ['1.000000000000015', '1.00000000000002', '1.00000000000002'],
      // 15th digit 2 (even): stays.
      ['1.000000000000025', '1.00000000000002', '1.00000000000003'],
      // Integer ties: …46|5 stays at …460, …47|5 goes to …480.
      ['1234567890123465', '1234567890123460', '1234567890123470'],
      ['1234567890123475', '1234567890123480', '1234567890123480'],
      // A small rate: 0.0000123456789012342|5 (15th digit 2, even): stays.
      ['0.00001234567890123425', '0.0000123456789012342', '0.0000123456789012343'],
      // Odd 9 on a tie carries through every digit: 9.99999999999999|5 → 10.
      ['9.999999999999995', '10', '10'],
      // Even 8 on a tie stays.
      ['9.999999999999985', '9.99999999999998', '9.99999999999999'],
    ];
    for (const [input, halfEven, halfUp] of ties) {
      expect(expectedDerived(input)).toBe(halfEven);
      expect(expectedDerived(input, 'half-up')).toBe(halfUp);
      expect(derivedRateText(new RateDecimal(input)), input).toBe(halfEven);
    }
    // At least one case above separates the modes (else the table would prove nothing).
    expect(ties.some(([, even, up]) => even !== up)).toBe(true);
  });

  it('rounds off ties to nearest: just above half goes up, just below goes down', () => {
    expect(derivedRateText(new RateDecimal('1.0000000000000050000001'))).toBe('1.00000000000001');
    expect(derivedRateText(new RateDecimal('1.0000000000000049999999'))).toBe('1');
    expect(derivedRateText(new RateDecimal('9.9999999999999949'))).toBe('9.99999999999999');
  });

  it('writes plain decimal text, never an exponent, however large or small', () => {
    expect(derivedRateText(new RateDecimal('1e-20'))).toBe('0.00000000000000000001');
    expect(derivedRateText(new RateDecimal('1e25'))).toBe('10000000000000000000000000');
    expect(derivedRateText(new RateDecimal('1.23456789012345678e-28'))).toBe(`0.${'0'.repeat(27)}123456789012346`);
    expect(derivedRateText(new RateDecimal('9.87654321098765432e33'))).toBe('9876543210987650000000000000000000');
  });

  it('agrees with the BigInt oracle on 2,000 generated values, a quarter of them exact ties', () => {
    const random = seeded(17);
    const digit = () => String(Math.floor(random() * 10));
    for (let i = 0; i < 2000; i++) {
      let digits: string;
      if (i % 4 === 0) {
        // 15 digits, then 5, then zeros: an exact tie for 15-digit rounding.
        digits = `${1 + Math.floor(random() * 9)}${Array.from({ length: 14 }, digit).join('')}5${'0'.repeat(Math.floor(random() * 5))}`;
      } else {
        const length = 1 + Math.floor(random() * 34);
        digits = `${1 + Math.floor(random() * 9)}${Array.from({ length: length - 1 }, digit).join('')}`;
      }
      const exponent = Math.floor(random() * 40) - 25;
      const text = `${digits[0]}.${digits.slice(1) || '0'}e${exponent}`;
      expect(derivedRateText(new RateDecimal(text)), text).toBe(expectedDerived(text));
    }
  });
});

describe('storableRate', () => {
  const ok = (text: string) => storableRate(new RateDecimal(text));

  it('is bounded at 14 integer and 24 decimal digits', () => {
    expect(MAX_INTEGER_DIGITS).toBe(14);
    expect(MAX_DECIMAL_DIGITS).toBe(24);
  });

  it('takes 14 integer digits and refuses 15 (10^14 itself is out)', () => {
    expect(ok('9'.repeat(14))).toBe(true);
    expect(ok('1' + '0'.repeat(13))).toBe(true);
    expect(ok('1' + '0'.repeat(14))).toBe(false); // 10^14: an off-by-one (lte) would take it
    expect(ok('1e14')).toBe(false);
    expect(ok('100000000000000.5')).toBe(false);
    expect(ok('9'.repeat(15))).toBe(false);
  });

  it('takes 24 decimal digits and refuses 25', () => {
    expect(ok(`0.${'0'.repeat(23)}1`)).toBe(true);
    expect(ok('1e-24')).toBe(true);
    expect(ok(`0.${'0'.repeat(24)}1`)).toBe(false);
    expect(ok('1e-25')).toBe(false);
    expect(ok(`1.${'1'.repeat(24)}`)).toBe(true);
    expect(ok(`1.${'1'.repeat(25)}`)).toBe(false);
  });

  it('takes the widest value of both at once: 14 integer and 24 decimal digits (38 in all)', () => {
    expect(ok(`${'9'.repeat(14)}.${'9'.repeat(24)}`)).toBe(true);
    expect(ok(`${'9'.repeat(14)}.${'9'.repeat(25)}`)).toBe(false);
    expect(ok(`${'9'.repeat(15)}.${'9'.repeat(24)}`)).toBe(false);
  });

  it('counts digits of the value, not of its spelling: trailing zeros and exponents do not count', () => {
    expect(ok(`1.${'0'.repeat(40)}`)).toBe(true);
    expect(ok('0.00000000000000000000000100000')).toBe(true); // 1e-24 with trailing zeros
    expect(ok('12345678901234e0')).toBe(true);
    expect(ok('1.2345678901234e13')).toBe(true);
  });

  it("judges magnitude: a negative value is bounded like its absolute value (sign checks are the caller's)", () => {
    expect(ok('-' + '9'.repeat(14))).toBe(true);
    expect(ok('-1e14')).toBe(false);
    expect(ok('-1e-25')).toBe(false);
    expect(ok('0')).toBe(true);
  });
});
