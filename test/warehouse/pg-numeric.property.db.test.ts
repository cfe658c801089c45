import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { divide, multiply, numericText, parseNumeric, trimScale, type Numeric } from '../../src/transform/pg-numeric.js';
import type { DirectDb } from '../../src/warehouse/direct.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

/**
 * src/transform/pg-numeric.ts computes serve's conversions at the latest rates as api.convert does in PostgreSQL:
 * trim_scale(amount * rate_to / rate_from) and trim_scale(rate_to / rate_from). The oracle is PostgreSQL itself, given
 * the same texts: every digit must be the same.
 */

/** Plain decimal text: a sign, up to `whole` digits before the point and `fraction` after (trailing zeros kept). */
const decimal = (whole: number, fraction: number, { negative = false, zero = false } = {}) =>
  fc
    .tuple(fc.bigInt({ min: 0n, max: 10n ** BigInt(whole + fraction) - 1n }), fc.integer({ min: 0, max: fraction }), fc.boolean())
    .map(([units, scale, minus]) => numericText({ units: negative && minus ? -units : units, scale }))
    .filter((text) => zero || !/^-?0(\.0*)?$/.test(text));

/** Rates as providers publish them: from 1e-12 to 1e9, up to 18 digits after the point. */
const rate = fc.oneof(decimal(3, 8), decimal(9, 6), decimal(0, 18), decimal(1, 12));
const amount = fc.oneof(
  decimal(20, 0, { negative: true, zero: true }),
  decimal(6, 2, { negative: true, zero: true }),
  decimal(20, 20, { negative: true, zero: true }),
);

/** Equal first base-10000 digits, where PostgreSQL's weight estimate is a guess. */
const equalFirstDigits = fc
  .tuple(fc.integer({ min: 1, max: 9999 }), fc.integer({ min: -3, max: 3 }), fc.integer({ min: -3, max: 3 }), fc.nat(9999), fc.nat(9999))
  .map(([digit, w1, w2, tail1, tail2]) => {
    const at = (weight: number, tail: number): string => {
      const n: Numeric = { units: BigInt(digit) * 10000n + BigInt(tail), scale: 4 - 4 * weight };
      return numericText(n.scale < 0 ? { units: n.units * 10n ** BigInt(-n.scale), scale: 0 } : n);
    };
    return [at(w1, tail1), at(w2, tail2)] as const;
  });

describe("PostgreSQL's numeric arithmetic in TypeScript (api.convert's digits)", () => {
  let database: TestDatabase;
  let db: DirectDb;

  beforeAll(async () => {
    database = await createTestDatabase('fxtest', { empty: true });
    db = await database.open();
  });

  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });

  async function inPostgres(rows: (readonly [string, string, string])[]): Promise<{ converted: string; rate: string; amount: string }[]> {
    return db.query(
      `select trim_scale(x.a::numeric * x.t::numeric / x.f::numeric)::text as converted, trim_scale(x.t::numeric / x.f::numeric)::text as rate,
              x.a::numeric::text as amount
         from unnest($1::text[], $2::text[], $3::text[]) with ordinality as x(a, t, f, n) order by x.n`,
      [rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2])],
    );
  }

  const inTypeScript = ([a, t, f]: readonly [string, string, string]) => ({
    converted: numericText(trimScale(divide(multiply(parseNumeric(a), parseNumeric(t)), parseNumeric(f)))),
    rate: numericText(trimScale(divide(parseNumeric(t), parseNumeric(f)))),
    amount: numericText(parseNumeric(a)),
  });

  it('gives every digit PostgreSQL gives, for amounts and rates of every size', async () => {
    const rows = fc.sample(fc.tuple(amount, rate, rate), { numRuns: 4000, seed: 28 });
    expect(rows.map(inTypeScript)).toEqual(await inPostgres(rows));
  });

  it('where the first base-10000 digits are equal (the quotient weight PostgreSQL guesses), and at its edges', async () => {
    const rows: (readonly [string, string, string])[] = fc
      .sample(fc.tuple(amount, equalFirstDigits), { numRuns: 2000, seed: 29 })
      .map(([a, [t, f]]) => [a, t, f] as const);
    rows.push(
      ['100', '1', '1'],
      ['1', '1', '3'],
      ['2', '1', '3'],
      ['-2', '1', '3'],
      ['0', '1.0850', '7'],
      ['0.00', '1', '3'],
      ['1', '9999', '1'],
      ['1', '1', '9999'],
      ['1', '10000', '1'],
      ['1', '0.0001', '10000'],
      ['007.50', '0.000000000001', '999999999'],
      ['99999999999999999999.99999999999999999999', '999999999.999999', '0.000000000000000001'],
    );
    expect(rows.map(inTypeScript)).toEqual(await inPostgres(rows));
  });

  it('reads only plain decimal text', () => {
    for (const bad of ['', '-', '.', '1e5', 'NaN', '1.2.3', ' 1 2']) expect(() => parseNumeric(bad), bad).toThrow(/not a plain decimal/);
    expect(numericText(parseNumeric('-0.00'))).toBe('0.00');
    expect(numericText(parseNumeric('.5'))).toBe('0.5');
    expect(() => divide(parseNumeric('1'), parseNumeric('0.00'))).toThrow(/division by zero/);
  });
});
