import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Decimal } from 'decimal.js';
import { describe, expect, it } from 'vitest';
import { addDays } from '../../src/calendar/days.js';
import { ecbBusinessDays } from '../../src/calendar/ecb.js';
import { createMarket, ECB_DECIMALS } from '../../src/demo/market.js';
import { ECB_SEED_FILE, OPEN_ER_API_SEED_FILE, SEED_DATA_DIR } from '../../src/demo/seed.js';
import { ECB_FIXTURE, ecbHistory, ecbXmlRates, numberTokens, OPEN_ER_API_FIXTURE, readFixture } from './fixtures.js';

const START = new Date('2024-01-09T00:00:00Z');
const SEED_DAY = '2024-01-09';
const market = createMarket({ seed: 7, start: START });

function decimals(value: string): number {
  return value.split('.')[1]?.length ?? 0;
}

describe('the simulated market', () => {
  it('ships the seed fixtures unchanged', () => {
    expect(readFileSync(path.join(SEED_DATA_DIR, OPEN_ER_API_SEED_FILE), 'utf8')).toBe(readFixture(OPEN_ER_API_FIXTURE));
    expect(readFileSync(path.join(SEED_DATA_DIR, ECB_SEED_FILE), 'utf8')).toBe(readFixture(ECB_FIXTURE));
  });

  it('publishes exactly the seed rates, as written, on the start day', () => {
    const seed = numberTokens(readFixture(OPEN_ER_API_FIXTURE), 'rates');
    expect(seed).toHaveLength(162);
    expect([...market.usdRates(SEED_DAY)]).toEqual(seed);
  });

  it('is deterministic: same seed and day, same rates, whatever was asked before', () => {
    const days = Array.from({ length: 40 }, (_, i) => addDays(SEED_DAY, i - 10));
    const forwards = createMarket({ seed: 7, start: START });
    const backwards = createMarket({ seed: 7, start: START });
    const fromForwards = days.map((day) => [...forwards.usdRates(day)]);
    const fromBackwards = [...days]
      .reverse()
      .map((day) => [...backwards.usdRates(day)])
      .reverse();
    expect(fromBackwards).toEqual(fromForwards);
    const fresh = createMarket({ seed: 7, start: START });
    expect([...fresh.usdRates(addDays(SEED_DAY, 25))]).toEqual(fromForwards[35]);
    expect([...fresh.ecbRates(addDays(SEED_DAY, 25))]).toEqual([...forwards.ecbRates(addDays(SEED_DAY, 25))]);
  });

  it('moves differently under another seed', () => {
    const other = createMarket({ seed: 8, start: START });
    expect(other.usdRates(SEED_DAY)).toEqual(market.usdRates(SEED_DAY));
    expect(other.usdRates(addDays(SEED_DAY, 1)).get('EUR')).not.toBe(market.usdRates(addDays(SEED_DAY, 1)).get('EUR'));
  });

  it('formats like open-er-api: USD is 1, at most 6 decimals, no trailing zeros', () => {
    for (let offset = -5; offset <= 30; offset++) {
      const rates = market.usdRates(addDays(SEED_DAY, offset));
      expect([...rates.keys()]).toEqual([...market.usdRates(SEED_DAY).keys()]);
      expect(rates.get('USD')).toBe('1');
      for (const [code, value] of rates) expect(value, code).toMatch(/^(0|[1-9]\d*)(\.\d{0,5}[1-9])?$/);
    }
  });

  it('changes every day, except currencies pegged to the USD', () => {
    const pegged = ['AED', 'SAR', 'BMD', 'BSD', 'PAB', 'QAR', 'BHD', 'OMR', 'JOD', 'XCD'];
    for (let offset = 0; offset < 30; offset++) {
      const today = market.usdRates(addDays(SEED_DAY, offset));
      const tomorrow = market.usdRates(addDays(SEED_DAY, offset + 1));
      for (const code of ['EUR', 'GBP', 'JPY', 'CHF', 'AUD', 'CAD', 'INR']) expect(tomorrow.get(code), code).not.toBe(today.get(code));
      for (const code of pegged) expect(tomorrow.get(code), code).toBe(today.get(code));
    }
  });

  it('moves majors by a realistic 0.3–0.65% a day, and keeps pegs to the euro', () => {
    const days = Array.from({ length: 400 }, (_, i) => addDays(SEED_DAY, i));
    for (const code of ['EUR', 'GBP', 'JPY', 'CHF', 'AUD', 'CAD']) {
      const levels = days.map((day) => Number(market.usdRates(day).get(code)));
      const returns = levels.slice(1).map((level, i) => Math.log(level / (levels[i] as number)));
      const sd = Math.sqrt(returns.reduce((sum, r) => sum + r * r, 0) / returns.length);
      expect(sd, code).toBeGreaterThan(0.0025);
      expect(sd, code).toBeLessThan(0.0065);
      expect(Math.max(...returns.map(Math.abs)), code).toBeLessThan(0.05);
    }
    for (const day of days.slice(1)) {
      const ecb = market.ecbRates(day);
      expect(ecb.get('BGN'), day).toBe('1.9558');
    }
  });

  it('derives the ECB fix two-thirds through the day: EUR→X = USD→X / USD→EUR at that instant, rounded as the ECB rounds', () => {
    for (let offset = -3; offset < 20; offset++) {
      const day = addDays(SEED_DAY, offset);
      const [today, tomorrow] = [market.usdRates(day), market.usdRates(addDays(day, 1))];
      const at = (code: string) => {
        const a = new Decimal(today.get(code) as string);
        return a.times(new Decimal(tomorrow.get(code) as string).div(a).pow(new Decimal(2).div(3)));
      };
      const usdToEur = at('EUR');
      for (const [code, value] of market.ecbRates(day)) {
        const exact = code === 'USD' ? new Decimal(1).div(usdToEur) : at(code).div(usdToEur);
        const places = ECB_DECIMALS[code] as number;
        expect(decimals(value), code).toBeLessThanOrEqual(places);
        // open-er-api's 6 decimals add their own rounding to the half unit of the ECB's last decimal.
        const tolerance = new Decimal(10).pow(-places).div(2).plus(exact.times(2e-6));
        expect(new Decimal(value).minus(exact).abs().lte(tolerance), `${day} ${code}: ${value} vs ${exact.toString()}`).toBe(true);
      }
    }
  });

  it("publishes the ECB's currencies in its order, with its decimals per currency", () => {
    expect([...market.ecbRates(SEED_DAY).keys()]).toEqual([...ecbXmlRates(readFixture(ECB_FIXTURE)).keys()]);
    const history = [...ecbHistory().values()];
    for (const code of Object.keys(ECB_DECIMALS)) {
      const published = history.map((rates) => decimals(rates.get(code) as string));
      expect(Math.max(...published), code).toBe(ECB_DECIMALS[code]);
    }
    for (const day of ecbBusinessDays('2024-01-09', '2024-03-31')) {
      for (const [code, value] of market.ecbRates(day)) expect(value, code).toMatch(/^(0|[1-9]\d*)(\.\d*[1-9])?$/);
    }
  });
});
