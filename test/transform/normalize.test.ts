import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { WAREHOUSE_BASE, normalize, type NormalizedBatch } from '../../src/transform/normalize.js';
import { REJECT_REASONS, type RejectReason } from '../../src/transform/rejects.js';
import { ExactNumber, type Extraction, type SourceName } from '../../src/sources/types.js';
import { SourceError } from '../../src/sources/errors.js';
import { asFraction, parseExact, roundSignificant } from './bigint-oracle.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures');
const fixture = (name: string) => readFileSync(path.join(FIXTURES, name), 'utf8');

type Pair = [code: string, value: unknown];

function extraction(base: string, pairs: Pair[], options: { requestedBase?: string; source?: SourceName; asOf?: Date } = {}): Extraction {
  return {
    source: options.source ?? (base === 'EUR' ? 'ecb' : 'open-er-api'),
    base,
    requestedBase: options.requestedBase ?? base,
    asOf: options.asOf ?? new Date('2025-05-09T14:00:00Z'),
    quotes: pairs.map(([code, value]) => ({ code, value })),
  };
}
/** Quotes whose values are number tokens, as a provider parser hands them over. */
const exact = (pairs: [string, string][]): Pair[] => pairs.map(([code, text]) => [code, new ExactNumber(text)]);
const usd = (pairs: Pair[]) => normalize(extraction('USD', pairs));

/**
 * USD→X = (B→X) / (B→USD) and USD→B = 1 / (B→USD), exactly as rationals in BigInt, then rounded to
 * 15 significant digits half to even: the module's documented rule, computed without decimal.js.
 */
function rebased(value: string, usdValue: string): string {
  const x = asFraction(parseExact(value));
  const u = asFraction(parseExact(usdValue));
  return roundSignificant(x.num * u.den, x.den * u.num, 15);
}

/** Significant digits of plain decimal text. */
const significantDigits = (text: string) => text.replace('.', '').replace(/^0+/, '').replace(/0+$/, '').length;

/** Distinct valid codes for table cases: QAA, QAB, … */
const code = (i: number) => `Q${String.fromCharCode(65 + Math.floor(i / 26))}${String.fromCharCode(65 + (i % 26))}`;

describe('normalize: a USD payload', () => {
  // open.er-api's real answer of 2024-01-09, read with regular expressions (not a JSON parser): the
  // number tokens exactly as the provider wrote them.
  const text = fixture('open-er-api-latest-USD-2024-01-09.json');
  const ratesBody = /"rates":\{([^}]*)\}/.exec(text)![1]!;
  const published = [...ratesBody.matchAll(/"([^"]+)":([^,]+)/g)].map((m) => [m[1]!, m[2]!] as [string, string]);
  const asOf = new Date(Number(/"time_last_update_unix":(\d+)/.exec(text)![1]) * 1000);

  it('reads the fixture as expected (162 currencies, USD among them as 1)', () => {
    expect(published).toHaveLength(162);
    expect(published.find(([c]) => c === 'USD')).toEqual(['USD', '1']);
    expect(asOf.toISOString()).toBe('2024-01-09T00:02:31.000Z');
  });

  it('passes every published rate through digit for digit, in published order, without USD itself', () => {
    const batch = normalize(extraction('USD', exact(published), { asOf }));
    expect(batch).toEqual<NormalizedBatch>({
      source: 'open-er-api',
      asOf,
      base: 'USD',
      rates: published.filter(([c]) => c !== 'USD').map(([quote, value]) => ({ quote, value })),
      rejects: [],
      rebased: false,
    });
    expect(batch.rates).toHaveLength(161);
    // Digits no float keeps apart would still come through as written, e.g. 6 decimals of IRR.
    expect(batch.rates.find((r) => r.quote === 'IRR')!.value).toBe('42103.415759');
    expect(batch.rates.find((r) => r.quote === 'BBD')!.value).toBe('2');
    expect(WAREHOUSE_BASE).toBe('USD');
  });

  it("keeps the published spelling (1.50 stays 1.50; digits past a double's precision stay)", () => {
    const batch = usd(
      exact([
        ['EUR', '1.50'],
        ['GBP', '0.1000000000000000000001'],
        ['JPY', '144.210309000'],
        ['KWD', ' 0.3075 '],
      ]),
    );
    expect(batch.rates).toEqual([
      { quote: 'EUR', value: '1.50' },
      { quote: 'GBP', value: '0.1000000000000000000001' },
      { quote: 'JPY', value: '144.210309000' },
      { quote: 'KWD', value: '0.3075' },
    ]);
  });

  it('spells out exponent notation as plain decimal text', () => {
    const batch = usd(
      exact([
        ['EUR', '1.5E+2'],
        ['GBP', '2.5e-3'],
        ['JPY', '1e-24'],
        ['CHF', '1.50e0'],
        ['SEK', '12345678901234e0'],
      ]),
    );
    expect(batch.rejects).toEqual([]);
    expect(batch.rates).toEqual([
      { quote: 'EUR', value: '150' },
      { quote: 'GBP', value: '0.0025' },
      { quote: 'JPY', value: `0.${'0'.repeat(23)}1` },
      { quote: 'CHF', value: '1.5' },
      { quote: 'SEK', value: '12345678901234' },
    ]);
  });
});

describe('normalize: a EUR payload (the ECB) rebased to USD', () => {
  // The ECB's real daily file of 2025-05-09, read with regular expressions (not an XML parser).
  const xml = fixture('ecb-eurofxref-daily-2025-05-09.xml');
  const day = /<Cube time='(\d{4}-\d{2}-\d{2})'>/.exec(xml)![1]!;
  const published = [...xml.matchAll(/<Cube currency='([A-Z]{3})' rate='([^']+)'\/>/g)].map((m) => [m[1]!, m[2]!] as [string, string]);
  const eurUsd = published.find(([c]) => c === 'USD')![1];

  it('reads the fixture as expected (30 currencies, EUR→USD 1.1252)', () => {
    expect(day).toBe('2025-05-09');
    expect(published).toHaveLength(30);
    expect(eurUsd).toBe('1.1252');
  });

  it('gives USD→EUR = 1 / 1.1252 first, then every other currency / 1.1252, to 15 significant digits', () => {
    const asOf = new Date(`${day}T14:00:00Z`);
    const batch = normalize(extraction('EUR', exact(published), { asOf }));
    expect(batch.base).toBe('USD');
    expect(batch.rebased).toBe(true);
    expect(batch.asOf).toBe(asOf);
    expect(batch.source).toBe('ecb');
    expect(batch.rejects).toEqual([]);
    expect(batch.rates).toEqual([
      { quote: 'EUR', value: rebased('1', eurUsd) },
      ...published.filter(([c]) => c !== 'USD').map(([quote, value]) => ({ quote, value: rebased(value, eurUsd) })),
    ]);
    for (const r of batch.rates) expect(significantDigits(r.value), r.quote).toBeLessThanOrEqual(15);
  });

  it('matches digits worked out by hand (bc, 30 decimals, then 15 significant digits)', () => {
    const values = new Map(normalize(extraction('EUR', exact(published))).rates.map((r) => [r.quote, r.value]));
    // 1 / 1.1252 = 0.888730892285815|854959… → up.
    expect(values.get('EUR')).toBe('0.888730892285816');
    // 163.36 / 1.1252 = 145.183078563810|878066… → up.
    expect(values.get('JPY')).toBe('145.183078563811');
    // 18606.59 / 1.1252 = 16536.2513330963|384287… → down.
    expect(values.get('IDR')).toBe('16536.2513330963');
    // 0.8477 / 1.1252 = 0.753377177390686|100248… → down.
    expect(values.get('GBP')).toBe('0.753377177390686');
    // 1.46 / 1.1252 = 1.29754710273729|114824… → down.
    expect(values.get('SGD')).toBe('1.29754710273729');
    // 1.9558 / 1.1252 = 1.73817987913259|864912… → up to …260, written without the trailing zero.
    expect(values.get('BGN')).toBe('1.7381798791326');
    expect(values.has('USD')).toBe(false);
  });

  it("agrees with the BigInt oracle on every day of the ECB's 2024 history (256 days)", () => {
    const lines = fixture('eurofxref-hist-2024.csv').trim().split('\n');
    const header = lines[0]!.split(',');
    expect(lines).toHaveLength(257);
    let compared = 0;
    for (const line of lines.slice(1)) {
      const cells = line.split(',');
      const row: [string, string][] = header
        .slice(1)
        .flatMap((c, i) => (c && cells[i + 1] && cells[i + 1] !== 'N/A' ? [[c, cells[i + 1]!] as [string, string]] : []));
      const usdText = row.find(([c]) => c === 'USD')![1];
      const batch = normalize(extraction('EUR', exact(row), { asOf: new Date(`${cells[0]}T15:00:00Z`) }));
      expect(batch.rejects).toEqual([]);
      expect(batch.rates, cells[0]).toEqual([
        { quote: 'EUR', value: rebased('1', usdText) },
        ...row.filter(([c]) => c !== 'USD').map(([quote, value]) => ({ quote, value: rebased(value, usdText) })),
      ]);
      compared += batch.rates.length;
    }
    expect(compared).toBeGreaterThan(256 * 25);
  });

  it('rebases exact quotients exactly (worked by hand)', () => {
    const batch = normalize(
      extraction(
        'EUR',
        exact([
          ['GBP', '1'],
          ['USD', '1.25'],
          ['JPY', '200'],
          ['CHF', '1.25'],
        ]),
      ),
    );
    expect(batch.rates).toEqual([
      { quote: 'EUR', value: '0.8' },
      { quote: 'GBP', value: '0.8' },
      { quote: 'JPY', value: '160' },
      { quote: 'CHF', value: '1' },
    ]);
  });

  it("ignores a quote of the base currency itself (the base's rate is 1 / B→USD, whatever the payload says)", () => {
    for (const eurEur of ['1', '7']) {
      const batch = normalize(
        extraction(
          'EUR',
          exact([
            ['EUR', eurEur],
            ['USD', '1.25'],
            ['JPY', '200'],
          ]),
        ),
      );
      expect(batch.rates).toEqual([
        { quote: 'EUR', value: '0.8' },
        { quote: 'JPY', value: '160' },
      ]);
      expect(batch.rejects).toEqual([]);
    }
  });

  it('rejects a value that rebased falls outside what every tier stores, and keeps the rest', () => {
    // EUR→USD 1e-14 makes USD→EUR 1e14: 15 integer digits. JPY 1 / 1e-14 likewise; GBP 1e-14 / 1e-14 = 1 is fine.
    const batch = normalize(
      extraction(
        'EUR',
        exact([
          ['USD', '0.00000000000001'],
          ['JPY', '1'],
          ['GBP', '0.00000000000001'],
        ]),
      ),
    );
    expect(batch.rates).toEqual([{ quote: 'GBP', value: '1' }]);
    expect(batch.rejects).toEqual([
      {
        base: 'EUR',
        quote: 'EUR',
        rawValue: '0.00000000000001',
        reason: 'out_of_range',
        detail: `${REJECT_REASONS.out_of_range}: EUR rebased to USD is 100000000000000`,
      },
      {
        base: 'EUR',
        quote: 'JPY',
        rawValue: '1',
        reason: 'out_of_range',
        detail: `${REJECT_REASONS.out_of_range}: JPY rebased to USD is 100000000000000`,
      },
    ]);
    // Just inside: 99999999999999 (14 digits) is kept.
    const inside = normalize(
      extraction(
        'EUR',
        exact([
          ['USD', '1'],
          ['JPY', '99999999999999'],
        ]),
      ),
    );
    expect(inside.rates).toEqual([
      { quote: 'EUR', value: '1' },
      { quote: 'JPY', value: '99999999999999' },
    ]);
    expect(inside.rejects).toEqual([]);
  });

  it('counts the decimal digits of the rebased value: 1e-24 is kept, 1e-25 rejected', () => {
    const batch = normalize(
      extraction(
        'EUR',
        exact([
          ['USD', '1000'],
          ['XAA', '0.000000000000000000001'],
          ['XAB', '0.0000000000000000000001'],
        ]),
      ),
    );
    expect(batch.rates).toEqual([
      { quote: 'EUR', value: '0.001' },
      { quote: 'XAA', value: `0.${'0'.repeat(23)}1` },
    ]);
    expect(batch.rejects).toEqual([
      {
        base: 'EUR',
        quote: 'XAB',
        rawValue: '0.0000000000000000000001',
        reason: 'out_of_range',
        detail: `${REJECT_REASONS.out_of_range}: XAB rebased to USD is 0.${'0'.repeat(24)}1`,
      },
    ]);
    // The 15 derived digits count too: 1e-11 / 3 has 15 significant digits from the 12th decimal on, 26
    // decimals in all, and is rejected, where 3e-11 / 3 = 1e-11 (11 decimals) is kept.
    const third = normalize(
      extraction(
        'EUR',
        exact([
          ['USD', '3'],
          ['XAA', '0.00000000003'],
          ['XAB', '0.00000000001'],
        ]),
      ),
    );
    expect(third.rates.map((r) => r.quote)).toEqual(['EUR', 'XAA']);
    expect(third.rates[1]!.value).toBe('0.00000000001');
    expect(third.rejects.map((r) => [r.quote, r.reason])).toEqual([['XAB', 'out_of_range']]);
    expect(third.rejects[0]!.detail).toContain(`is 0.00000000000${'3'.repeat(15)}`);
  });

  it('throws a format SourceError when the payload has no usable EUR→USD rate to rebase with', () => {
    const cases: Pair[][] = [
      exact([
        ['JPY', '163.36'],
        ['GBP', '0.8477'],
      ]),
      exact([
        ['USD', '0'],
        ['JPY', '163.36'],
      ]),
      exact([
        ['USD', 'N/A'],
        ['JPY', '163.36'],
      ]),
      exact([
        ['USD', '1.1252'],
        ['USD', '1.1252'],
        ['JPY', '163.36'],
      ]),
      exact([
        ['usd', '1.1252'],
        ['JPY', '163.36'],
      ]),
      [
        ['USD', '1.1252'],
        ['JPY', new ExactNumber('163.36')],
      ],
    ];
    for (const pairs of cases) {
      let thrown: unknown;
      try {
        normalize(extraction('EUR', pairs));
      } catch (error) {
        thrown = error;
      }
      expect(thrown, JSON.stringify(pairs)).toBeInstanceOf(SourceError);
      expect((thrown as SourceError).kind).toBe('format');
      expect((thrown as SourceError).source).toBe('ecb');
      expect((thrown as SourceError).message).toContain('no valid EUR→USD rate');
    }
  });

  it('rejects invalid quotes of a EUR payload under the EUR base, and rebases the rest', () => {
    const batch = normalize(
      extraction(
        'EUR',
        exact([
          ['USD', '1.25'],
          ['JPY', '-163'],
          ['GBP', '1'],
          ['CHF', 'abc'],
        ]),
      ),
    );
    expect(batch.rates).toEqual([
      { quote: 'EUR', value: '0.8' },
      { quote: 'GBP', value: '0.8' },
    ]);
    expect(batch.rejects).toEqual([
      { base: 'EUR', quote: 'JPY', rawValue: '-163', reason: 'non_positive', detail: REJECT_REASONS.non_positive },
      { base: 'EUR', quote: 'CHF', rawValue: 'abc', reason: 'not_a_number', detail: REJECT_REASONS.not_a_number },
    ]);
  });
});

describe('normalize: hard rejects', () => {
  it('rejects every value that is not a number token, with its raw text', () => {
    const cases: [value: unknown, rawValue: string | null][] = [
      ['1.5', '"1.5"'],
      [1.5, '1.5'], // a float, not an exact token: parsers must hand over ExactNumber
      [null, 'null'],
      [undefined, null],
      [true, 'true'],
      [{ rate: 1 }, '{"rate":1}'],
      [[1], '[1]'],
      [new ExactNumber('abc'), 'abc'],
      [new ExactNumber(''), ''],
      [new ExactNumber('1.'), '1.'],
      [new ExactNumber('.5'), '.5'],
      [new ExactNumber('01.5'), '01.5'],
      [new ExactNumber('+1.5'), '+1.5'],
      [new ExactNumber('1,5'), '1,5'],
      [new ExactNumber('0x10'), '0x10'],
      [new ExactNumber('1e'), '1e'],
      [new ExactNumber('--1'), '--1'],
      [new ExactNumber('1 000'), '1 000'],
    ];
    const batch = usd(cases.map(([value], i) => [code(i), value]));
    expect(batch.rates).toEqual([]);
    expect(batch.rejects).toEqual(
      cases.map(([, rawValue], i) => ({
        base: 'USD',
        quote: code(i),
        rawValue,
        reason: 'not_a_number',
        detail: REJECT_REASONS.not_a_number,
      })),
    );
  });

  it('rejects infinities and NaN however spelled, and a number token too large for a double', () => {
    const texts = ['Infinity', '-Infinity', '+Infinity', 'inf', 'INF', '-inf', 'NaN', 'nan', '1e400', '-1e400', '1.5E+309'];
    const batch = usd(exact(texts.map((t, i) => [code(i), t])));
    expect(batch.rates).toEqual([]);
    expect(batch.rejects.map((r) => [r.rawValue, r.reason])).toEqual(texts.map((t) => [t, 'not_finite']));
    expect(batch.rejects.every((r) => r.detail === REJECT_REASONS.not_finite)).toBe(true);
  });

  it('rejects zero and negative rates, however spelled', () => {
    const texts = ['0', '-0', '0.000', '0e10', '-1.5', '-0.0001', '-1e-30'];
    const batch = usd(exact(texts.map((t, i) => [code(i), t])));
    expect(batch.rates).toEqual([]);
    expect(batch.rejects.map((r) => [r.rawValue, r.reason])).toEqual(texts.map((t) => [t, 'non_positive']));
  });

  it('rejects a published value with more than 14 integer or 24 decimal digits, and keeps one at the limits', () => {
    const widest = `${'9'.repeat(14)}.${'9'.repeat(24)}`;
    const smallest = `0.${'0'.repeat(23)}1`;
    const out = ['1' + '0'.repeat(14), '1e14', `${'9'.repeat(14)}.${'9'.repeat(25)}`, `0.${'0'.repeat(24)}1`, '1e-25', '1e-400'];
    const batch = usd(exact([['KEP', widest], ['KES', smallest], ...out.map((t, i): [string, string] => [code(i), t])]));
    expect(batch.rates).toEqual([
      { quote: 'KEP', value: widest },
      { quote: 'KES', value: smallest },
    ]);
    expect(batch.rejects.map((r) => [r.rawValue, r.reason])).toEqual(out.map((t) => [t, 'out_of_range']));
    expect(batch.rejects[0]!.detail).toBe(REJECT_REASONS.out_of_range);
  });

  it('keeps only the first 200 characters of a raw value', () => {
    const batch = usd([
      ['AAA', new ExactNumber('9'.repeat(300))],
      ['AAB', 'x'.repeat(300)],
    ]);
    expect(batch.rejects.map((r) => r.reason)).toEqual(['out_of_range', 'not_a_number']);
    expect(batch.rejects[0]!.rawValue).toBe('9'.repeat(200));
    expect(batch.rejects[1]!.rawValue).toBe(`"${'x'.repeat(199)}`);
  });

  it('rejects a code that is not three upper-case letters, whatever its value, naming the code', () => {
    const codes = ['eur', 'Eur', 'EU', 'EURO', 'E1R', '', ' EUR', 'ÉUR', 'X'.repeat(100)];
    const batch = usd([
      ...codes.map((c): Pair => [c, new ExactNumber('1.5')]),
      ['gbp', new ExactNumber('-1')],
      ['JPY', new ExactNumber('144.21')],
    ]);
    expect(batch.rates).toEqual([{ quote: 'JPY', value: '144.21' }]);
    expect(batch.rejects).toEqual([
      ...codes.map((c) => ({
        base: 'USD',
        quote: c,
        rawValue: '1.5',
        reason: 'bad_code',
        detail: `${REJECT_REASONS.bad_code}: ${JSON.stringify(c).slice(0, 40)}`,
      })),
      { base: 'USD', quote: 'gbp', rawValue: '-1', reason: 'bad_code', detail: `${REJECT_REASONS.bad_code}: "gbp"` },
    ]);
    expect(batch.rejects[codes.length - 1]!.detail).toBe(`${REJECT_REASONS.bad_code}: "${'X'.repeat(39)}`);
  });

  it('rejects every occurrence of a duplicated code, valid or not, and keeps the others', () => {
    const batch = usd([
      ['GBP', new ExactNumber('0.78523')],
      ['EUR', new ExactNumber('0.913083')],
      ['CHF', new ExactNumber('0.848628')],
      ['GBP', new ExactNumber('0.78523')],
      ['CHF', new ExactNumber('0.85')],
      ['CHF', new ExactNumber('-1')],
    ]);
    expect(batch.rates).toEqual([{ quote: 'EUR', value: '0.913083' }]);
    const reasons = (reason: RejectReason, detail: string, quote: string, rawValue: string) => ({
      base: 'USD',
      quote,
      rawValue,
      reason,
      detail,
    });
    expect(batch.rejects).toEqual([
      reasons('duplicate_code', 'GBP appears 2 times', 'GBP', '0.78523'),
      reasons('duplicate_code', 'CHF appears 3 times', 'CHF', '0.848628'),
      reasons('duplicate_code', 'GBP appears 2 times', 'GBP', '0.78523'),
      reasons('duplicate_code', 'CHF appears 3 times', 'CHF', '0.85'),
      reasons('duplicate_code', 'CHF appears 3 times', 'CHF', '-1'),
    ]);
  });

  it("drops the base's own quote in a USD payload without a reject when it is a valid number, rejects it otherwise", () => {
    for (const value of ['1', '1.0', '2']) {
      expect(
        usd(
          exact([
            ['USD', value],
            ['EUR', '0.9'],
          ]),
        ),
      ).toMatchObject({ rates: [{ quote: 'EUR', value: '0.9' }], rejects: [] });
    }
    expect(
      usd(
        exact([
          ['USD', '0'],
          ['EUR', '0.9'],
        ]),
      ).rejects,
    ).toEqual([{ base: 'USD', quote: 'USD', rawValue: '0', reason: 'non_positive', detail: REJECT_REASONS.non_positive }]);
    expect(
      usd(
        exact([
          ['USD', '1'],
          ['USD', '1'],
          ['EUR', '0.9'],
        ]),
      ).rejects.map((r) => r.reason),
    ).toEqual(['duplicate_code', 'duplicate_code']);
  });

  // The doc comment says normalize throws "when nothing usable remains"; it does not for a USD payload:
  // it returns no rates and every reject, and the pipeline stores the rejects, then fails the source
  // ("no valid rates in the payload"). This pins the behaviour the pipeline relies on.
  it('returns no rates and all its rejects, without throwing, when every quote of a USD payload is rejected', () => {
    const batch = usd(
      exact([
        ['EUR', '0'],
        ['GBP', 'NaN'],
        ['USD', '1'],
      ]),
    );
    expect(batch.rates).toEqual([]);
    expect(batch.rejects.map((r) => r.reason)).toEqual(['non_positive', 'not_finite']);
    expect(usd([]).rates).toEqual([]);
  });

  it('rejects a whole payload in another base than asked for, each quote as base_mismatch', () => {
    const pairs: Pair[] = [
      ['USD', new ExactNumber('1.1252')],
      ['JPY', new ExactNumber('163.36')],
      ['bad', new ExactNumber('-1')],
      ['GBP', 'x'],
    ];
    const batch = normalize(extraction('EUR', pairs, { requestedBase: 'USD', source: 'frankfurter' }));
    expect(batch).toEqual<NormalizedBatch>({
      source: 'frankfurter',
      asOf: new Date('2025-05-09T14:00:00Z'),
      base: 'USD',
      rates: [],
      rebased: false,
      rejects: [
        { base: 'EUR', quote: 'USD', rawValue: '1.1252', reason: 'base_mismatch', detail: 'asked for USD, got EUR' },
        { base: 'EUR', quote: 'JPY', rawValue: '163.36', reason: 'base_mismatch', detail: 'asked for USD, got EUR' },
        { base: 'EUR', quote: 'bad', rawValue: '-1', reason: 'base_mismatch', detail: 'asked for USD, got EUR' },
        { base: 'EUR', quote: 'GBP', rawValue: '"x"', reason: 'base_mismatch', detail: 'asked for USD, got EUR' },
      ],
    });
    // The other way round too: the ECB asked for EUR and got USD.
    const other = normalize(extraction('USD', exact([['EUR', '0.9']]), { requestedBase: 'EUR', source: 'ecb' }));
    expect(other.rates).toEqual([]);
    expect(other.rejects).toEqual([
      { base: 'USD', quote: 'EUR', rawValue: '0.9', reason: 'base_mismatch', detail: 'asked for EUR, got USD' },
    ]);
  });

  it('reports valid and rejected quotes side by side, in published order', () => {
    const batch = usd([
      ['AED', new ExactNumber('3.6725')],
      ['AFN', new ExactNumber('0')],
      ['ALL', new ExactNumber('96.131794')],
      ['amd', new ExactNumber('405.337806')],
      ['ANG', new ExactNumber('1.79')],
      ['AOA', 'NaN'],
    ]);
    expect(batch.rates).toEqual([
      { quote: 'AED', value: '3.6725' },
      { quote: 'ALL', value: '96.131794' },
      { quote: 'ANG', value: '1.79' },
    ]);
    expect(batch.rejects.map((r) => [r.quote, r.reason])).toEqual([
      ['AFN', 'non_positive'],
      ['amd', 'bad_code'],
      ['AOA', 'not_a_number'],
    ]);
  });
});
