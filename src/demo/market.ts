/**
 * A deterministic simulated currency market. USD→X levels start on the start day from the seed's real
 * open-er-api rates and move once per UTC day (see currency-dynamics.ts); the ECB's fix is derived from
 * the same levels. A day's values depend only on the seed and the day, never on which days were asked
 * for before: each day's moves come from a PRNG seeded with (seed, day), and levels are accumulated
 * from the start day in either direction.
 */
import { addDays, dayOf, daysBetween, type IsoDay, weekdayOf } from '../calendar/days.js';
import { dynamicsOf } from './currency-dynamics.js';
import { hashSeed, mulberry32, normalSampler } from './prng.js';
import { loadSeed } from './seed.js';

export interface MarketOptions {
  seed: number;
  /** Its UTC day publishes exactly the seed's rates. */
  start: Date;
}

export interface Market {
  readonly seed: number;
  readonly startDay: IsoDay;
  /** USD→X for every currency open-er-api publishes, in its order, formatted as it publishes them. */
  usdRates(day: IsoDay): ReadonlyMap<string, string>;
  /** EUR→X for the ECB's currencies, in its order, rounded as the ECB publishes them (whatever the weekday). */
  ecbRates(day: IsoDay): ReadonlyMap<string, string>;
}

/** Decimals the ECB publishes per currency (trailing zeros dropped), as in its historical file. */
export const ECB_DECIMALS: Readonly<Record<string, number>> = {
  USD: 4,
  JPY: 2,
  BGN: 4,
  CZK: 3,
  DKK: 4,
  GBP: 5,
  HUF: 2,
  PLN: 4,
  RON: 4,
  SEK: 4,
  CHF: 4,
  ISK: 1,
  NOK: 4,
  TRY: 4,
  AUD: 4,
  BRL: 4,
  CAD: 4,
  CNY: 4,
  HKD: 4,
  IDR: 2,
  ILS: 4,
  INR: 4,
  KRW: 2,
  MXN: 4,
  MYR: 4,
  NZD: 4,
  PHP: 3,
  SGD: 4,
  THB: 3,
  ZAR: 4,
};

const OPEN_ER_API_DECIMALS = 6;
/** Share of a trading day's movement on a day whose rates close a weekend, when FX markets are shut. */
const WEEKEND_ACTIVITY = 0.15;

/** value with at most `decimals` decimals, trailing zeros and a bare point dropped ("2", "0.376"). */
/** How far through the UTC day the ECB's 16:00 CET fix falls. */
const ECB_FIX_FRACTION = 2 / 3;

export function formatDecimal(value: number, decimals: number): string {
  const fixed = value.toFixed(decimals);
  return fixed.includes('.') ? fixed.replace(/0+$/, '').replace(/\.$/, '') : fixed;
}

export function createMarket({ seed, start }: MarketOptions): Market {
  if (!Number.isInteger(seed)) throw new RangeError(`market seed must be an integer, got ${seed}`);
  const startDay = dayOf(start);
  const { usdRates: seedRates, ecbCurrencies } = loadSeed();
  const codes = [...seedRates.keys()];
  const indexOf = (code: string): number => {
    const index = codes.indexOf(code);
    if (index < 0) throw new Error(`simulated market: ${code} is not among the seed's currencies`);
    return index;
  };
  const seedLevels = Float64Array.from(codes, (code) => Number(seedRates.get(code)));
  const dynamics = codes.map(dynamicsOf);
  // Pegs and tracking are one level deep, so one pass over the floating currencies settles every level.
  const floatingIndexOf = (code: string): number => {
    const index = indexOf(code);
    const anchor = dynamics[index];
    if (anchor?.kind !== 'floating' || anchor.tracks)
      throw new Error(`simulated market: ${code} must float freely to anchor another currency`);
    return index;
  };
  const trackedIndex = dynamics.map((d) => (d.kind === 'floating' && d.tracks ? floatingIndexOf(d.tracks) : -1));
  const peggedTo = dynamics.map((d, i) => {
    if (d.kind !== 'pegged') return undefined;
    const index = floatingIndexOf(d.to);
    return { index, ratio: d.ratio ?? (seedLevels[i] as number) / (seedLevels[index] as number) };
  });
  const eurIndex = indexOf('EUR');
  const ecbQuotes = ecbCurrencies.map((code) => {
    const decimals = ECB_DECIMALS[code];
    if (decimals === undefined) throw new Error(`simulated market: no ECB convention for ${code}`);
    return { code, index: indexOf(code), decimals };
  });

  /** Growth factor of each floating currency from the day before `offset` to `offset`. */
  function dailyGrowth(offset: number): Float64Array {
    const day = addDays(startDay, offset);
    const weekday = weekdayOf(addDays(day, -1));
    const activity = weekday === 0 || weekday === 6 ? WEEKEND_ACTIVITY : 1;
    const normal = normalSampler(mulberry32(hashSeed(seed, offset)));
    const logReturns = dynamics.map((d) => {
      const shock = normal();
      return d.kind === 'floating' ? activity * (d.volatility * shock + d.drift) : 0;
    });
    return Float64Array.from(logReturns, (logReturn, i) => {
      const tracked = trackedIndex[i] as number;
      return Math.exp(logReturn + (tracked >= 0 ? (logReturns[tracked] as number) : 0));
    });
  }

  /** Levels of `offset` from those of its neighbour one day nearer the start. */
  function levelsFrom(neighbour: Float64Array, offset: number): Float64Array {
    const growth = offset > 0 ? dailyGrowth(offset) : dailyGrowth(offset + 1);
    const levels = Float64Array.from(dynamics, (d, i) => {
      if (d.kind !== 'floating') return seedLevels[i] as number;
      const level = neighbour[i] as number;
      return offset > 0 ? level * (growth[i] as number) : level / (growth[i] as number);
    });
    peggedTo.forEach((peg, i) => {
      if (peg) levels[i] = (levels[peg.index] as number) * peg.ratio;
    });
    return levels;
  }

  const levelsByOffset = new Map<number, Float64Array>([[0, seedLevels]]);
  function levelsAt(offset: number): Float64Array {
    const step = offset > 0 ? 1 : -1;
    let known = offset;
    while (!levelsByOffset.has(known)) known -= step;
    for (let next = known + step; step * next <= step * offset; next += step) {
      levelsByOffset.set(next, levelsFrom(levelsByOffset.get(next - step) as Float64Array, next));
    }
    return levelsByOffset.get(offset) as Float64Array;
  }

  return {
    seed,
    startDay,
    usdRates(day) {
      const offset = daysBetween(startDay, day);
      if (offset === 0) return seedRates;
      const levels = levelsAt(offset);
      return new Map(
        codes.map((code, i) => [
          code,
          dynamics[i]?.kind === 'fixed' ? (seedRates.get(code) as string) : formatDecimal(levels[i] as number, OPEN_ER_API_DECIMALS),
        ]),
      );
    },
    ecbRates(day) {
      // open-er-api's value for day D is the market at D 00:00 UTC; the ECB fixes at ~14:00-15:00 UTC,
      // two-thirds of the way to D+1 (geometric interpolation), so the two sources differ as they do for real.
      const offset = daysBetween(startDay, day);
      const [from, to] = [levelsAt(offset), levelsAt(offset + 1)];
      const levels = Float64Array.from(from, (level, i) => level * ((to[i] as number) / level) ** ECB_FIX_FRACTION);
      const usdToEur = levels[eurIndex] as number;
      return new Map(
        ecbQuotes.map(({ code, index, decimals }) => {
          const eurToCode = code === 'USD' ? 1 / usdToEur : (levels[index] as number) / usdToEur;
          return [code, formatDecimal(eurToCode, decimals)];
        }),
      );
    },
  };
}
