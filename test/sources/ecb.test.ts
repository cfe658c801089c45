import { describe, expect, it } from 'vitest';
import { ecb } from '../../src/sources/ecb.js';
import { ecbPublicationTime } from '../../src/calendar/ecb.js';
import { ExactNumber } from '../../src/sources/types.js';
import { extractFrom, extractionError, html, quoteTexts, readFixture, type Reply } from './support.js';

const fixture = readFixture('ecb-eurofxref-daily-2025-05-09.xml');
const xml = (body: string, status = 200): Reply => ({ status, body, headers: { 'content-type': 'text/xml' } });

describe('ecb', () => {
  it('parses the real daily file: 30 EUR-based quotes, attribute text kept exactly', async () => {
    const { extraction, server } = await extractFrom(ecb, xml(fixture));
    expect(server.requests.map((request) => request.url)).toEqual(['/eurofxref-daily.xml']);
    expect(extraction).toMatchObject({ source: 'ecb', base: 'EUR', requestedBase: 'EUR' });
    expect(extraction.asOf.toISOString()).toBe('2025-05-09T14:00:00.000Z');
    expect(extraction.quotes).toHaveLength(30);
    expect(extraction.quotes[0]).toEqual({ code: 'USD', value: new ExactNumber('1.1252') });
    const values = quoteTexts(extraction);
    expect(values.get('JPY')).toBe('163.36');
    expect(values.get('SEK')).toBe('10.92');
    expect(values.get('ZAR')).toBe('20.4835');
  });

  it('keeps a currency listed twice, and a rate that is not a number, for validation to reject', async () => {
    const body = fixture.replace(
      "<Cube currency='JPY' rate='163.36'/>",
      "<Cube currency='JPY' rate='163.36'/><Cube currency='JPY' rate='N/A'/><Cube currency='XXX'/>",
    );
    const { extraction } = await extractFrom(ecb, xml(body));
    expect(extraction.quotes.slice(1, 4)).toEqual([
      { code: 'JPY', value: new ExactNumber('163.36') },
      { code: 'JPY', value: new ExactNumber('N/A') },
      { code: 'XXX', value: null },
    ]);
  });

  it('reads a file holding a single currency', async () => {
    const body = fixture.replace(/<Cube currency='(?!USD)[A-Z]{3}' rate='[^']*'\/>\s*/g, '');
    const { extraction } = await extractFrom(ecb, xml(body));
    expect(extraction.quotes).toEqual([{ code: 'USD', value: new ExactNumber('1.1252') }]);
  });

  it('rejects an HTML page as not XML', async () => {
    const error = await extractionError(ecb, html('<!DOCTYPE html><html><body>Service unavailable</body></html>'));
    expect(error.kind).toBe('format');
    expect(error.message).toBe("ecb: not XML (got text/html, starts '<!DOCTYPE html><html><body>Service unava…')");
  });

  it('rejects JSON as not XML and truncated XML as invalid', async () => {
    expect((await extractionError(ecb, xml('{"rates":{}}'))).message).toMatch(
      /^ecb: not XML \(got text\/xml, starts '\{"rates":\{\}\}'\)$/,
    );
    const truncated = await extractionError(ecb, xml(fixture.slice(0, 700)));
    expect(truncated.kind).toBe('format');
    expect(truncated.message).toMatch(/^ecb: invalid XML at line \d+, column \d+: /);
  });

  it('rejects XML of another shape naming what is missing', async () => {
    const error = await extractionError(
      ecb,
      xml("<?xml version='1.0'?><Envelope><Cube><Cube><Cube currency='USD' rate='1.1'/></Cube></Cube></Envelope>"),
    );
    expect(error.kind).toBe('format');
    expect(error.message).toBe('ecb: missing field Envelope.Cube.Cube.time');
  });

  it('reports a failed status with what came back', async () => {
    const error = await extractionError(ecb, html('<h1>Not Found</h1>', 404));
    expect(error).toMatchObject({ kind: 'http', message: "ecb: HTTP 404 (got text/html, starts '<h1>Not Found</h1>')" });
  });
});

describe('ecbPublicationTime', () => {
  it('is 16:00 in Frankfurt: 15:00 UTC in winter, 14:00 UTC in summer', () => {
    expect(ecbPublicationTime('2024-01-02').toISOString()).toBe('2024-01-02T15:00:00.000Z');
    expect(ecbPublicationTime('2025-05-09').toISOString()).toBe('2025-05-09T14:00:00.000Z');
  });

  it('follows the summer-time switches on the day they happen', () => {
    expect(ecbPublicationTime('2025-03-29').toISOString()).toBe('2025-03-29T15:00:00.000Z');
    expect(ecbPublicationTime('2025-03-30').toISOString()).toBe('2025-03-30T14:00:00.000Z');
    expect(ecbPublicationTime('2025-10-25').toISOString()).toBe('2025-10-25T14:00:00.000Z');
    expect(ecbPublicationTime('2025-10-26').toISOString()).toBe('2025-10-26T15:00:00.000Z');
  });

  it('is 14:30 in Frankfurt before 2016-07-01, when the ECB published after its 14:15 concertation', () => {
    expect(ecbPublicationTime('1999-01-04').toISOString()).toBe('1999-01-04T13:30:00.000Z');
    expect(ecbPublicationTime('2005-07-21').toISOString()).toBe('2005-07-21T12:30:00.000Z');
    expect(ecbPublicationTime('2016-06-30').toISOString()).toBe('2016-06-30T12:30:00.000Z');
    expect(ecbPublicationTime('2016-07-01').toISOString()).toBe('2016-07-01T14:00:00.000Z');
  });

  it('refuses what is not a calendar date', () => {
    expect(() => ecbPublicationTime('2025-02-30')).toThrow(RangeError);
    expect(() => ecbPublicationTime('09.05.2025')).toThrow('not a calendar date: "09.05.2025"');
  });
});
