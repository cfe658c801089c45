import { readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../../src/util/package-root.js';

/** The shared real provider samples, next to the repository (not shipped with fxpipe). */
/** Copies of ../shared/fixtures (a clone has no ../shared); test/fixtures.test.ts keeps them identical. */
export const SHARED_FIXTURES_DIR = path.resolve(packageRoot, 'test/fixtures');

export const OPEN_ER_API_FIXTURE = 'open-er-api-latest-USD-2024-01-09.json';
export const ECB_FIXTURE = 'ecb-eurofxref-daily-2025-05-09.xml';
export const ECB_HISTORY_FIXTURE = 'eurofxref-hist-2024.csv';

export function readFixture(name: string): string {
  return readFileSync(path.join(SHARED_FIXTURES_DIR, name), 'utf8');
}

/** The number tokens of a flat JSON object's "rates"-like member, as written, in order. */
export function numberTokens(json: string, member: string): [string, string][] {
  const body = new RegExp(`"${member}":\\{([^{}]*)\\}`).exec(json)?.[1];
  if (body === undefined) throw new Error(`no "${member}" object`);
  return [...body.matchAll(/"([A-Z]{3})":([^,]+)/g)].map((match) => [match[1] as string, match[2] as string]);
}

/** currency → rate attribute of the ECB daily XML, in order. */
export function ecbXmlRates(xml: string): Map<string, string> {
  return new Map([...xml.matchAll(/currency='([A-Z]{3})' rate='([^']+)'/g)].map((match) => [match[1] as string, match[2] as string]));
}

/** The ECB history CSV as date → currency → rate (N/A left out). */
export function ecbHistory(): Map<string, Map<string, string>> {
  const [header = '', ...lines] = readFixture(ECB_HISTORY_FIXTURE).trim().split('\n');
  const currencies = header.split(',').slice(1);
  const history = new Map<string, Map<string, string>>();
  for (const line of lines) {
    const [date = '', ...values] = line.split(',');
    history.set(
      date,
      new Map(values.flatMap((value, i) => (value && value !== 'N/A' ? [[currencies[i] as string, value] as [string, string]] : []))),
    );
  }
  return history;
}
