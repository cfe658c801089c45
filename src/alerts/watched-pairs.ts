import { derivedRateText, RateDecimal } from '../transform/decimal.js';
import type { PairMove } from '../warehouse/loader.js';

export interface WatchedMove {
  /** BASE/QUOTE as configured. */
  pair: string;
  previous: string;
  rate: string;
  changePct: number;
}

/**
 * The moves of watched pairs, from the run's moves of base→quote rates: BASE/QUOTE = (base→QUOTE) / (base→BASE),
 * so EUR/USD and cross pairs such as EUR/GBP work too. A pair a leg of which did not move is left out.
 */
export function watchedPairMoves(moves: readonly PairMove[], pairs: readonly string[], base: string): WatchedMove[] {
  const one = new RateDecimal(1);
  const byQuote = new Map(moves.map((move) => [move.quote, move]));
  const leg = (code: string) => {
    if (code === base) return { previous: one, rate: one };
    const move = byQuote.get(code);
    return move ? { previous: new RateDecimal(move.previous), rate: new RateDecimal(move.rate) } : undefined;
  };
  const out: WatchedMove[] = [];
  for (const pair of pairs) {
    const [from = '', to = ''] = pair.split('/');
    const [a, b] = [leg(from), leg(to)];
    if (!a || !b) continue;
    const previous = b.previous.div(a.previous);
    const rate = b.rate.div(a.rate);
    const changePct = rate.minus(previous).div(previous).times(100).toDecimalPlaces(4).toNumber();
    out.push({ pair, previous: derivedRateText(previous), rate: derivedRateText(rate), changePct });
  }
  return out;
}
