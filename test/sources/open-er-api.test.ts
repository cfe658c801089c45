import { describe, expect, it } from 'vitest';
import { openErApi } from '../../src/sources/open-er-api.js';
import { ExactNumber } from '../../src/sources/types.js';
import { extractFrom, extractionError, html, json, quoteTexts, readFixture } from './support.js';

const fixture = readFixture('open-er-api-latest-USD-2024-01-09.json');

describe('open-er-api', () => {
  it('parses the real response: 162 quotes in published order, values exactly as written', async () => {
    const { extraction, server } = await extractFrom(openErApi, json(fixture));
    expect(server.requests.map((request) => request.url)).toEqual(['/v6/latest/USD']);
    expect(server.requests[0]!.headers['user-agent']).toMatch(/^fxpipe\/\d+\.\d+\.\d+/);
    expect(extraction).toMatchObject({ source: 'open-er-api', base: 'USD', requestedBase: 'USD' });
    expect(extraction.asOf.toISOString()).toBe(new Date(1704758551 * 1000).toISOString());
    expect(extraction.quotes).toHaveLength(162);
    expect(extraction.quotes.slice(0, 3)).toEqual([
      { code: 'USD', value: new ExactNumber('1') },
      { code: 'AED', value: new ExactNumber('3.6725') },
      { code: 'AFN', value: new ExactNumber('71.254789') },
    ]);
    const values = quoteTexts(extraction);
    expect(values.get('ANG')).toBe('1.79');
    expect(values.get('FOK')).toBe('6.811502');
    expect(values.get('GGP')).toBe('0.785088');
    expect(extraction.quotes.every((quote) => quote.value instanceof ExactNumber)).toBe(true);
  });

  it('keeps both occurrences of a currency published twice with different values', async () => {
    const body =
      '{"result":"success","base_code":"USD","time_last_update_unix":1704758551,"rates":{"USD":1,"EUR":0.91,"GBP":0.78,"EUR":0.92}}';
    const { extraction } = await extractFrom(openErApi, json(body));
    expect(extraction.quotes).toEqual([
      { code: 'USD', value: new ExactNumber('1') },
      { code: 'EUR', value: new ExactNumber('0.91') },
      { code: 'EUR', value: new ExactNumber('0.92') },
      { code: 'GBP', value: new ExactNumber('0.78') },
    ]);
  });

  it('passes values that are not numbers through for validation to reject', async () => {
    const body = '{"result":"success","base_code":"USD","time_last_update_unix":1704758551,"rates":{"EUR":"0.91","GBP":null}}';
    const { extraction } = await extractFrom(openErApi, json(body));
    expect(extraction.quotes).toEqual([
      { code: 'EUR', value: '0.91' },
      { code: 'GBP', value: null },
    ]);
  });

  it.each([200, 404])('reports the provider error payload by name (HTTP %i)', async (status) => {
    const error = await extractionError(openErApi, json('{"result":"error","error-type":"unsupported-code"}', status));
    expect(error.kind).toBe('provider');
    expect(error.message).toMatch(/^open-er-api: unsupported-code: the currency code is not supported/);
  });

  it('rejects an HTML page as not JSON, saying what came instead', async () => {
    const error = await extractionError(openErApi, html('<html><head><title>Maintenance</title></head></html>'));
    expect(error.kind).toBe('format');
    expect(error.message).toBe("open-er-api: not JSON (got text/html, starts '<html><head><title>Maintenance</title></…')");
  });

  it('rejects truncated JSON naming the byte where it stops', async () => {
    const error = await extractionError(openErApi, json(fixture.slice(0, 512)));
    expect(error.kind).toBe('format');
    expect(error.message).toBe('open-er-api: truncated JSON at byte 512');
  });

  it('rejects a payload without rates', async () => {
    const body = '{"result":"success","base_code":"USD","time_last_update_unix":1704758551}';
    const error = await extractionError(openErApi, json(body));
    expect(error.kind).toBe('format');
    expect(error.message).toBe('open-er-api: missing field rates');
  });

  it('rejects a payload of the wrong shape naming the field', async () => {
    const wrongTime = '{"result":"success","base_code":"USD","time_last_update_unix":"yesterday","rates":{}}';
    expect((await extractionError(openErApi, json(wrongTime))).message).toBe(
      'open-er-api: field time_last_update_unix: expected a number of seconds',
    );
    const list = '[{"USD":1}]';
    expect((await extractionError(openErApi, json(list))).message).toBe('open-er-api: payload: expected object, received array');
    const twoBases = '{"result":"success","base_code":"USD","base_code":"EUR","time_last_update_unix":1,"rates":{}}';
    expect((await extractionError(openErApi, json(twoBases))).message).toBe(
      'open-er-api: field base_code appears 2 times with different values',
    );
  });

  it('reports another failed status with what the body looks like', async () => {
    const error = await extractionError(openErApi, html('<h1>Not Found</h1>', 404));
    expect(error.kind).toBe('http');
    expect(error.message).toBe("open-er-api: HTTP 404, not JSON (got text/html, starts '<h1>Not Found</h1>')");
  });
});
