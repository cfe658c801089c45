import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMarket } from '../../src/demo/market.js';
import { type ProviderServer, startProviderServer } from '../../src/demo/provider-server.js';
import { sources } from '../../src/sources/registry.js';
import { SOURCE_NAMES } from '../../src/sources/types.js';

const API_KEY = 'demo-key-0123456789';
const NOW = new Date('2024-01-16T18:00:00Z');

describe("fxpipe's own source modules", () => {
  let server: ProviderServer;
  beforeAll(async () => {
    server = await startProviderServer({
      market: createMarket({ seed: 3, start: new Date('2024-01-09T00:00:00Z') }),
      clock: () => NOW,
      apiKey: API_KEY,
    });
  });
  afterAll(async () => server.close());

  it.each(SOURCE_NAMES)('%s: parse what the simulated provider serves', async (name) => {
    const source = sources[name];
    const request = source.latestRequest({ baseUrl: server.baseUrls[name], apiKey: API_KEY });
    const response = await fetch(request.url, { headers: request.headers });
    const extraction = source.parseLatest({
      status: response.status,
      headers: Object.fromEntries(response.headers),
      body: Buffer.from(await response.arrayBuffer()),
      durationMs: 0,
    });
    expect(extraction.base).toBe(source.requestedBase);
    expect(extraction.quotes.length).toBe(name === 'open-er-api' || name === 'exchangerate-api' ? 162 : 30);
    expect(extraction.asOf.getTime()).toBeLessThanOrEqual(NOW.getTime());
  });
});
