import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { z } from 'zod';
import { ecbPublicationTime } from '../calendar/ecb.js';
import { SourceError } from './errors.js';
import { describeBody, isSuccessStatus, parseShape, unexpectedStatus } from './payload.js';
import { buildRequest } from './request.js';
import { ExactNumber, type Extraction, type HttpResponse, type Source, type SourceSettings } from './types.js';

const NAME = 'ecb';
const BASE = 'EUR';

const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', removeNSPrefix: true, parseAttributeValue: false });

const rateEntry = z.object({ currency: z.string(), rate: z.string().optional() });

/** <gesmes:Envelope><Cube><Cube time='…'><Cube currency='USD' rate='1.1252'/>…</Cube></Cube></gesmes:Envelope> */
const dailyPayload = z.object({
  Envelope: z.object({
    Cube: z.object({
      Cube: z.object({
        time: z.iso.date(),
        Cube: z.union([z.array(rateEntry), rateEntry.transform((entry) => [entry])]),
      }),
    }),
  }),
});

/** The ECB's own daily reference rates file: EUR base, about 30 currencies. Rebasing to USD happens in src/transform. */
export const ecb: Source = {
  name: NAME,
  defaultBaseUrl: 'https://www.ecb.europa.eu/stats/eurofxref',
  urlEnv: 'FXPIPE_ECB_URL',
  requestedBase: BASE,
  needsKey: false,

  latestRequest(settings: SourceSettings) {
    return buildRequest({ baseUrl: settings.baseUrl, path: '/eurofxref-daily.xml', accept: 'application/xml, text/xml' });
  },

  parseLatest(response: HttpResponse): Extraction {
    if (!isSuccessStatus(response.status)) throw unexpectedStatus(NAME, response);
    const day = parseShape(NAME, dailyPayload, readXml(response)).Envelope.Cube.Cube;
    return {
      source: NAME,
      base: BASE,
      requestedBase: BASE,
      asOf: ecbPublicationTime(day.time),
      quotes: day.Cube.map((entry) => ({ code: entry.currency, value: entry.rate === undefined ? null : new ExactNumber(entry.rate) })),
    };
  },
};

function readXml(response: HttpResponse): unknown {
  const text = response.body
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .trim();
  if (!text.startsWith('<') || /^<(!doctype\s+html|html)\b/i.test(text)) {
    throw new SourceError(NAME, `not XML (${describeBody(response)})`, 'format');
  }
  const validation = XMLValidator.validate(text);
  if (validation !== true) {
    const { msg, line, col } = validation.err;
    throw new SourceError(NAME, `invalid XML at line ${line}, column ${col}: ${msg}`, 'format');
  }
  return xml.parse(text);
}
