import { describe, expect, it } from 'vitest';
import { parseProductionRates, ProductionRateError } from '../../src/verify/production-rates.js';

const at = new Date('2025-03-31T14:00:00Z');

describe('parseProductionRates', () => {
  it('reads CSV by its header, in any column order and case, other columns ignored, codes trimmed and upper-cased', async () => {
    const text = '\uFEFFDesk,Rate,Quote,BASE,At\r\ntreasury,0.9215, eur ,usd,2025-03-31T16:00:00+02:00\r\n   \r\nfx,149.8,JPY,USD,\n';
    expect(await parseProductionRates(text, 'p.csv')).toEqual([
      { line: 2, base: 'USD', quote: 'EUR', rate: '0.9215', at },
      { line: 4, base: 'USD', quote: 'JPY', rate: '149.8', at: null },
    ]);
  });

  it('reads a JSON array (elements counted from 1) and JSON lines, numbers exactly as written', async () => {
    expect(await parseProductionRates('[{"base":"USD","quote":"EUR","rate":0.92150000000000000001}]', 'p.json')).toEqual([
      { line: 1, base: 'USD', quote: 'EUR', rate: '0.92150000000000000001', at: null },
    ]);
    expect(
      await parseProductionRates(
        '{"base":"USD","quote":"EUR","rate":"1e-3"}\n\n{"base":"EUR","quote":"GBP","rate":0.85,"at":"2025-03-31T14:00:00Z"}\n',
        'p.jsonl',
      ),
    ).toEqual([
      { line: 1, base: 'USD', quote: 'EUR', rate: '1e-3', at: null },
      { line: 3, base: 'EUR', quote: 'GBP', rate: '0.85', at },
    ]);
  });

  it.each([
    ['base,quote\nUSD,EUR\n', 'p.csv line 1: the header has no column rate (it needs base, quote, rate and optionally at)'],
    ['base,quote,rate\nUSD,EUR,0.9\nUSD,EURO,0.9\n', 'p.csv line 3: quote "EURO" is not a three-letter currency code'],
    ['base,quote,rate\nUSD,EUR,0\n', 'p.csv line 2: rate "0" is not a positive decimal number'],
    ['base,quote,rate\nUSD,EUR,-0.9\n', 'p.csv line 2: rate "-0.9" is not a positive decimal number'],
    ['base,quote,rate\nUSD,EUR,\n', 'p.csv line 2: no rate'],
    [
      'base,quote,rate,at\nUSD,EUR,0.9,2025-03-31 16:00\n',
      'p.csv line 2: at "2025-03-31 16:00" is not an ISO 8601 time with its offset (e.g. 2025-03-31T16:00:00Z) from the year 1000 on',
    ],
    [
      'base,quote,rate,at\nUSD,EUR,0.9,2025-02-30T16:00:00Z\n',
      'p.csv line 2: at "2025-02-30T16:00:00Z" is not an ISO 8601 time with its offset (e.g. 2025-03-31T16:00:00Z) from the year 1000 on',
    ],
    ['[{"base":"USD","quote":"EUR","rate":0.9},{"base":"USD","rate":0.9}]', 'p.csv element 2: no quote'],
    ['[{"base":"USD","quote":"EUR","rate":0.9,"rate":0.8}]', 'p.csv element 1: rate is given twice with different values'],
    ['{"base":"USD","quote":"EUR","rate":0.9}\n{"base":"USD",\n', 'p.csv line 2: not JSON: truncated JSON at byte 14'],
    ['[1, 2]', 'p.csv element 1: expected an object with base, quote, rate and optionally at'],
    ['  \n', 'p.csv: empty: expected CSV with a header base,quote,rate[,at], a JSON array or JSON lines'],
  ])('refuses %j: %s', async (text, message) => {
    const error = await parseProductionRates(text, 'p.csv').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProductionRateError);
    expect(error).toMatchObject({ where: message.split(': ')[0], problem: message.slice(message.indexOf(': ') + 2) });
    expect((error as Error).message).toBe(message);
  });
});
