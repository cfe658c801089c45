import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JsonArraySplitter, JsonValueError, MAX_DEPTH } from '../../src/verify/json-values.js';
import { parseProductionRates, ProductionRateError, productionRatesIn, type ProductionRate } from '../../src/verify/production-rates.js';

/** The text cut at the given places: what a stream may hand over. */
function* cut(text: string, at: number[]): Generator<string> {
  let from = 0;
  for (const to of [...new Set(at.map((i) => i % (text.length + 1)))].sort((a, b) => a - b)) {
    yield text.slice(from, to);
    from = to;
  }
  yield text.slice(from);
}

async function* chunks(parts: Iterable<string | Uint8Array>): AsyncGenerator<string | Uint8Array> {
  yield* parts;
}

async function all(text: Parameters<typeof productionRatesIn>[0], name = 'p'): Promise<ProductionRate[]> {
  const rates: ProductionRate[] = [];
  for await (const rate of productionRatesIn(text, name)) rates.push(rate);
  return rates;
}

const refusal = (text: string) =>
  parseProductionRates(text, 'p').then(
    () => null,
    (error: unknown) => (error as Error).message,
  );

describe('JsonArraySplitter', () => {
  it('gives the elements JSON.parse gives, however the text is cut (fast-check, JSON.parse the oracle)', () => {
    fc.assert(
      fc.property(fc.array(fc.jsonValue({ maxDepth: 4 })), fc.array(fc.nat()), fc.boolean(), (values, at, pretty) => {
        const text = JSON.stringify(values, null, pretty ? 2 : undefined);
        const splitter = new JsonArraySplitter();
        const elements = [...cut(text, at)].flatMap((part) => splitter.push(part));
        splitter.end();
        expect(elements.map((element) => JSON.parse(element) as unknown)).toEqual(JSON.parse(text));
      }),
    );
  });

  it('refuses what is not one array, naming the element', () => {
    const split = (text: string) => {
      const splitter = new JsonArraySplitter();
      splitter.push(text);
      splitter.end();
    };
    expect(() => split('[{"a":1},]')).toThrow(new JsonValueError(2, 'not JSON: a value is missing'));
    expect(() => split('[{"a":1}] x')).toThrow('not JSON: unexpected "x" after the array');
    expect(() => split('[{"a":1},')).toThrow('not JSON: the array is not closed');
    expect(() => split(`[${'['.repeat(MAX_DEPTH + 1)}`)).toThrow(`nested deeper than ${MAX_DEPTH} levels`);
  });
});

describe('productionRatesIn', () => {
  const rows = [
    { base: 'USD', quote: 'EUR', rate: '0.92150000000000000001', at: '2025-03-31T14:00:00Z' },
    { base: 'EUR', quote: 'JPY', rate: '161.5', at: '2025-03-31T16:00:00+02:00' },
  ];
  const expected = (lines: number[]) =>
    rows.map((r, i) => ({ line: lines[i]!, base: r.base, quote: r.quote, rate: r.rate, at: new Date(r.at) }));
  const formats: [string, string, number[]][] = [
    ['CSV', `desk,base,quote,rate,at\n${rows.map((r) => `Zürich €,${r.base},${r.quote},${r.rate},${r.at}`).join('\n')}\n`, [2, 3]],
    [
      'a JSON array',
      `[${rows.map((r) => `{"desk":"Zürich €","base":"${r.base}","quote":"${r.quote}","rate":${r.rate},"at":"${r.at}"}`).join(',\n')}]`,
      [1, 2],
    ],
    [
      'JSON lines',
      `${rows.map((r) => `{"desk":"Zürich €","base":"${r.base}","quote":"${r.quote}","rate":${r.rate},"at":"${r.at}"}`).join('\r\n')}\r\n`,
      [1, 2],
    ],
  ];

  it.each(formats)('reads %s cut anywhere, in bytes cut inside a character too, the same as whole (fast-check)', async (_, text, lines) => {
    const bytes = Buffer.from(`\uFEFF${text}`);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { maxLength: 8 }), async (at) => {
        const parts = [...cut(bytes.toString('latin1'), at)].map((part) => Buffer.from(part, 'latin1'));
        expect(await all(chunks(parts))).toEqual(expected(lines));
      }),
      { numRuns: 50 },
    );
  });

  it.each(formats)('skips a byte-order mark before %s', async (_, text, lines) => {
    expect(await all(`\uFEFF${text}`)).toEqual(expected(lines));
    expect(await all(chunks([Buffer.from([0xef, 0xbb]), Buffer.from([0xbf]), Buffer.from(text)]))).toEqual(expected(lines));
  });

  it('refuses a rate the pipeline would not store, naming its line, before it reaches PostgreSQL', async () => {
    const limit = 'is outside what fxpipe stores (below 1e14, at most 24 decimal places)';
    expect(await refusal('base,quote,rate\nUSD,EUR,0.9\nUSD,JPY,1e29\n')).toBe(`p line 3: rate "1e29" ${limit}`);
    expect(await refusal('[{"base":"USD","quote":"EUR","rate":1e400}]')).toBe(`p element 1: rate "1e400" ${limit}`);
    expect(await refusal('{"base":"USD","quote":"EUR","rate":"1e200000"}\n')).toBe(`p line 1: rate "1e200000" ${limit}`);
    expect(await refusal('base,quote,rate\nUSD,EUR,0.0000000000000000000000001\n')).toBe(
      `p line 2: rate "0.0000000000000000000000001" ${limit}`,
    );
    expect(await refusal('base,quote,rate\nUSD,EUR,99999999999999.99\n')).toBeNull();
  });

  it('refuses JSON nested 100,000 deep in one line, as an array element or as a JSON line, without a stack overflow', async () => {
    const deep = `${'['.repeat(30_000)}${']'.repeat(30_000)}`;
    expect(await refusal(`[{"base":"USD","quote":"EUR","rate":1,"x":${deep}}]`)).toBe(
      `p element 1: nested deeper than ${MAX_DEPTH} levels`,
    );
    expect(await refusal(`{"base":"USD","quote":"EUR","rate":1}\n{"x":${deep}}\n`)).toBe(
      `p line 2: nested deeper than ${MAX_DEPTH} levels`,
    );
    expect(await refusal(`{"base":"USD","quote":"EUR","rate":1,"note":"${'x'.repeat(70_000)}"}\n`)).toBe(
      'p line 1: longer than 65536 characters',
    );
  });

  it('refuses an instant PostgreSQL cannot hold (year 0) or that the calendar does not have', async () => {
    expect(await refusal('base,quote,rate,at\nUSD,EUR,0.9,0000-01-01T00:00:00Z\n')).toMatch(
      /^p line 2: at "0000-01-01T00:00:00Z" is not an ISO 8601 time/,
    );
    expect(await refusal('base,quote,rate,at\nUSD,EUR,0.9,2025-13-01T00:00:00Z\n')).toMatch(/^p line 2: at "2025-13-01T00:00:00Z"/);
    expect(await refusal('base,quote,rate,at\nUSD,EUR,0.9,0999-12-31T23:59:59Z\n')).toMatch(/from the year 1000 on$/);
  });

  it('an error is a ProductionRateError naming the file: empty, or nothing but a header', async () => {
    await expect(parseProductionRates('\uFEFF  \n', 'p')).rejects.toThrow(ProductionRateError);
    expect(await refusal('base,quote,rate\n')).toBe('p: no rates in it');
  });
});

describe('printJsonWithRows', () => {
  it('writes what JSON.stringify(…, null, 2) writes for the whole object, page by page', async () => {
    const { printJsonWithRows } = await import('../../src/cli/output.js');
    const { vi } = await import('vitest');
    const head = { checkId: 'c', label: null, counts: { ok: 1, deviates: 0 }, total: 3 };
    const tail = { alerts: [{ kind: 'x', nested: { a: [1, 2] } }] };
    for (const pages of [[], [[{ a: 1, b: ['x'] }], [{ a: 2 }, { a: 3, c: { d: null } }]]]) {
      const written: string[] = [];
      const spy = vi.spyOn(process.stdout, 'write').mockImplementation((text) => written.push(String(text)) > 0);
      try {
        await printJsonWithRows(
          head,
          'rows',
          (async function* () {
            yield* pages;
          })(),
          tail,
        );
      } finally {
        spy.mockRestore();
      }
      expect(written.join('')).toBe(`${JSON.stringify({ ...head, rows: pages.flat(), ...tail }, null, 2)}\n`);
    }
  });
});
