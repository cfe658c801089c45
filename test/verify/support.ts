/**
 * The market both verify files load: USD→quote levels of 20 currencies, and three sources each publishing them moved
 * by a few hundredths of a percent, differently per source.
 */
export const QUOTES = 'EUR GBP JPY CHF CAD AUD NZD SEK NOK DKK PLN CZK HUF MXN BRL INR CNY HKD SGD ZAR'.split(' ');
/** USD→quote of QUOTES[i]. */
export const LEVELS = '0.92 0.79 149.8 0.88 1.35 1.52 1.64 10.4 10.6 6.86 3.97 23.4 361.2 17.05 4.96 82.9 7.19 7.82 1.34 18.9'.split(' ');
/** Each source's factor on the levels. */
export const SOURCES = { alpha: '1', beta: '1.0002', gamma: '0.9997' } as const;
