/**
 * The ECB's daily reference rates file, GET /eurofxref-daily.xml: the seed file's exact bytes (envelope,
 * namespaces, tabs, single quotes) with the latest published business day's Cube in place of the seed's.
 */
import type { IsoDay } from '../../calendar/days.js';
import { ecbLatestPublishedDay } from '../../calendar/ecb.js';
import type { Market } from '../market.js';
import { notFound, type ProviderHandler } from './response.js';

const DAY_CUBE = /(\t\t<Cube time=')\d{4}-\d{2}-\d{2}('>\n)(?:\t\t\t<Cube currency='[A-Z]{3}' rate='[0-9.]+'\/>\n)+/;

export function renderEcbDaily(template: string, day: IsoDay, eurRates: ReadonlyMap<string, string>): string {
  if (!DAY_CUBE.test(template)) throw new Error('ECB template: no <Cube time=…> block in the expected layout');
  const rateCubes = Array.from(eurRates, ([code, rate]) => `\t\t\t<Cube currency='${code}' rate='${rate}'/>\n`).join('');
  return template.replace(DAY_CUBE, (_block, open: string, close: string) => `${open}${day}${close}${rateCubes}`);
}

export function ecbDaily(market: Market, template: string): ProviderHandler {
  return (path, _query, at) => {
    if (path !== '/eurofxref-daily.xml') return notFound();
    const day = ecbLatestPublishedDay(at);
    return { status: 200, headers: { 'content-type': 'text/xml' }, body: renderEcbDaily(template, day, market.ecbRates(day)) };
  };
}
