/**
 * The real payloads the simulated market starts from, shipped in src/demo/data so a clone without the
 * shared fixtures can run the demo.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isLosslessNumber, parse } from 'lossless-json';
import { packageRoot } from '../util/package-root.js';

export const SEED_DATA_DIR = path.join(packageRoot, 'src/demo/data');
export const OPEN_ER_API_SEED_FILE = 'open-er-api-latest-USD-2024-01-09.json';
export const ECB_SEED_FILE = 'ecb-eurofxref-daily-2025-05-09.xml';

export interface Seed {
  /** USD→X as open-er-api published them (number text as written), in its order: USD first, then A–Z. */
  usdRates: ReadonlyMap<string, string>;
  /** The ECB's daily XML, byte for byte: the template the simulated ECB fills in. */
  ecbXml: string;
  /** The ECB's currencies in the order it publishes them. */
  ecbCurrencies: readonly string[];
}

function readSeedFile(name: string): string {
  return readFileSync(path.join(SEED_DATA_DIR, name), 'utf8');
}

function parseUsdRates(json: string): Map<string, string> {
  const payload = parse(json) as { rates?: Record<string, unknown> };
  const rates = new Map<string, string>();
  for (const [code, value] of Object.entries(payload.rates ?? {})) {
    if (!isLosslessNumber(value)) throw new Error(`${OPEN_ER_API_SEED_FILE}: rate of ${code} is not a number`);
    rates.set(code, value.value);
  }
  return rates;
}

let cached: Seed | undefined;

export function loadSeed(): Seed {
  if (!cached) {
    const ecbXml = readSeedFile(ECB_SEED_FILE);
    cached = {
      usdRates: parseUsdRates(readSeedFile(OPEN_ER_API_SEED_FILE)),
      ecbXml,
      ecbCurrencies: [...ecbXml.matchAll(/currency='([A-Z]{3})'/g)].map((match) => match[1] as string),
    };
  }
  return cached;
}
