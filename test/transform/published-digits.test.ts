import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ExactNumber, type Extraction } from '../../src/sources/types.js';
import { RateDecimal } from '../../src/transform/decimal.js';
import { normalize } from '../../src/transform/normalize.js';
import { PublishedValues } from '../../src/transform/published-digits.js';

const publishedValues = (usd: Map<string, string>, base: string) => new PublishedValues(usd, base).all();

/** What normalize() stores for a EUR-based payload: USD→code, the base included, USD itself 1. */
function storedUsd(eurTo: Map<string, string>): Map<string, string> {
  const extraction: Extraction = {
    source: 'ecb',
    base: 'EUR',
    requestedBase: 'EUR',
    asOf: new Date('2024-06-03T14:00:00Z'),
    quotes: [...eurTo].map(([code, value]) => ({ code, value: new ExactNumber(value) })),
  };
  const batch = normalize(extraction);
  expect(batch.rejects).toEqual([]);
  return new Map([['USD', '1'], ...batch.rates.map((r): [string, string] => [r.quote, r.value])]);
}

const sameNumbers = (actual: Map<string, string>, expected: Map<string, string>) => {
  expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [code, value] of expected) expect(`${code} ${actual.get(code)}`).toBe(`${code} ${new RateDecimal(value).toFixed()}`);
};

describe("publishedValues: a source's own digits back from the USD rates stored for them", () => {
  it("every day of the ECB's 2024 history file: each EUR rate exactly as the ECB published it", () => {
    const [header, ...lines] = readFileSync(path.resolve('test/fixtures/eurofxref-hist-2024.csv'), 'utf8').trim().split('\n');
    const codes = header!.split(',').slice(1);
    let checked = 0;
    for (const line of lines) {
      const cells = line.split(',').slice(1);
      const published = new Map(
        codes.flatMap((code, i) => (code && cells[i] && cells[i] !== 'N/A' ? [[code, cells[i]] as [string, string]] : [])),
      );
      sameNumbers(publishedValues(storedUsd(published), 'EUR'), new Map([['EUR', '1'], ...published]));
      checked += published.size;
    }
    expect(checked).toBeGreaterThan(7000);
  });

  it('any value of up to 10 significant digits a EUR-based source may publish comes back exactly', () => {
    // Values from 0.0001 to 999,999 with up to 10 significant digits; EUR→USD from 0.5 to 2 with up to 8.
    const published = fc
      .tuple(fc.integer({ min: 1, max: 9_999_999_999 }), fc.integer({ min: -4, max: 5 }))
      .map(([digits, exponent]) => new RateDecimal(digits).times(new RateDecimal(10).pow(exponent - String(digits).length + 1)).toFixed());
    const eurToUsd = fc.integer({ min: 50_000_000, max: 200_000_000 }).map((n) => new RateDecimal(n).div(1e8).toFixed());
    fc.assert(
      fc.property(eurToUsd, fc.array(published, { minLength: 1, maxLength: 5 }), (eurUsd, others) => {
        const eurTo = new Map([['USD', eurUsd], ...others.map((v, i): [string, string] => [`Q${String.fromCharCode(65 + i)}A`, v])]);
        sameNumbers(publishedValues(storedUsd(eurTo), 'EUR'), new Map([['EUR', '1'], ...eurTo]));
      }),
      { numRuns: 1000 },
    );
  });

  it("a USD-based source's values are its stored values; a value no short decimal reproduces is left to be computed", () => {
    const usd = new Map([
      ['USD', '1'],
      ['EUR', '0.9'],
      ['JPY', '150.25'],
    ]);
    expect(publishedValues(usd, 'USD')).toEqual(usd);
    // USD→EUR 0.888888888888889 is 1 / 1.125 as stored; no decimal of up to 15 digits rebases to a 21-digit USD→JPY.
    const odd = publishedValues(
      new Map([
        ['USD', '1'],
        ['EUR', '0.888888888888889'],
        ['JPY', '0.1234567890123456789'],
      ]),
      'EUR',
    );
    expect(odd.get('USD')).toBe('1.125');
    expect(odd.has('JPY')).toBe(false);
    expect(
      publishedValues(
        new Map([
          ['USD', '1'],
          ['EUR', '0.9000000000000001234'],
        ]),
        'EUR',
      ).has('USD'),
    ).toBe(false);
  });
});
