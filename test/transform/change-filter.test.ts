import { describe, expect, it } from 'vitest';
import { ChangeFilter, decideChange, storedChangePct } from '../../src/transform/change-filter.js';
import { RateDecimal } from '../../src/transform/decimal.js';
import { CHANGE_PCT_CASES, changePctOracle } from './change-pct-cases.js';

const zero = new RateDecimal(0);

describe('the change rule', () => {
  it("stores a pair's first value, and by default every value that differs from the last stored one, however little", () => {
    expect(decideChange(null, '1.1', zero)).toMatchObject({ reason: 'initial', kept: true, changePct: null });
    expect(decideChange('0.1', '0.1000000000000000000001', zero)).toMatchObject({ reason: 'moved', kept: true });
    // 0.1 + 1e-22 is the same double as 0.1: the rule compares decimals, not floats.
    expect(Number('0.1000000000000000000001')).toBe(0.1);
  });

  it('never stores an exact repeat, whatever its spelling (1.10 is 1.1)', () => {
    expect(decideChange('1.1', '1.10', zero)).toMatchObject({ reason: 'unchanged', kept: false });
    expect(decideChange('3.6725', '3.6725', new RateDecimal(0.01))).toMatchObject({ reason: 'unchanged', kept: false });
  });

  it('with an opted-in threshold, skips moves of at most that many percent, computed exactly', () => {
    // 100 → 100.01 is +0.01 % exactly: not beyond a 0.01 % threshold; 100.0101 is.
    expect(decideChange('100', '100.01', new RateDecimal(0.01))).toMatchObject({ reason: 'below_threshold', kept: false });
    const moved = decideChange('100', '100.0101', new RateDecimal(0.01));
    expect(moved).toMatchObject({ reason: 'moved', kept: true });
    expect(moved.changePct!.toFixed()).toBe('0.0101');
    expect(decideChange('100', '99.9899', new RateDecimal(0.01)).changePct!.toFixed()).toBe('-0.0101');
  });

  it('a backfill filter applies the same rule in date order, from the last stored values', () => {
    const filter = new ChangeFilter(0, new Map([['EUR', '0.9']]));
    expect(filter.observe('EUR', '0.90')).toBeNull();
    expect(filter.observe('EUR', '0.91')).toEqual({ previous: '0.9', changePct: '1.11111111' });
    expect(filter.observe('EUR', '0.91')).toBeNull();
    expect(filter.observe('JPY', '150')).toEqual({ previous: null, changePct: null });
    expect(filter.observe('EUR', '0.9')).toEqual({ previous: '0.91', changePct: '-1.09890110' });
    // A move DECIMAL(38,24) cannot hold is stored as null, the rates as they are.
    expect(filter.observe('EUR', '10000000000000')).toEqual({ previous: '0.9', changePct: null });
  });

  it('stores the move to 8 decimals from the exact quotient, ties away from zero; a move of 1e14 % or more as null', () => {
    expect(CHANGE_PCT_CASES.length).toBeGreaterThan(200);
    for (const [from, to] of CHANGE_PCT_CASES) expect(storedChangePct(from, to), `${from} → ${to}`).toBe(changePctOracle(from, to));
    expect(storedChangePct('0.0000000000001', '1')).toBeNull();
    expect(storedChangePct('1', '1000000000000')).toBe('99999999999900.00000000');
    expect(storedChangePct('1', '1.00000000005')).toBe('0.00000001');
    expect(storedChangePct('1', '0.99999999995')).toBe('-0.00000001');
    expect(storedChangePct('1e-13', '1.0')).toBeNull();
  });
});
