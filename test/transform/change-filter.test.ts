import { describe, expect, it } from 'vitest';
import { ChangeFilter, decideChange } from '../../src/transform/change-filter.js';
import { RateDecimal } from '../../src/transform/decimal.js';

const zero = new RateDecimal(0);

describe('the change rule', () => {
  it('stores a pair\'s first value, and by default every value that differs from the last stored one, however little', () => {
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
  });
});
