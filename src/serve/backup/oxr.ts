import { Hono, type Context } from 'hono';
import { isCalendarDay } from '../../calendar/days.js';
import type { Db } from '../../warehouse/db.js';
import { tokenMatches } from '../auth.js';
import { dayAnswer, sendAnswer } from '../http-cache.js';
import type { LatestAnswers } from '../last-good/latest-answers.js';
import { answeredRate, codeList, decimalPlaces, exactJson, jsonNumber, jsonRates, ratesAgainst } from './numbers.js';
import { currenciesInForce, publishedBetween, publishedOn, type PublishedDay } from './published.js';

/**
 * Open Exchange Rates (openexchangerates.org/api), answered from fxpipe's stored rates: docs/backup.md. Errors are
 * OXR's: `{error: true, status, message, description}`.
 */
const DISCLAIMER = 'Usage subject to terms: https://openexchangerates.org/terms';
const LICENSE = 'https://openexchangerates.org/license';
const CODE = /^[A-Z]{3}$/;
const AMOUNT = /^\d{1,15}(\.\d{1,15})?$/;
/** OXR writes its rates to at most 6 decimal places; so does this, for every rate the source did not publish as such. */
const ROUNDING = decimalPlaces(6);

const ERRORS = {
  not_found: [404, 'Client requested a non-existent resource/route.'],
  missing_app_id: [401, 'Client did not provide an App ID.'],
  invalid_app_id: [401, 'Client provided an invalid App ID.'],
  invalid_base: [400, 'Client requested rates for an unsupported base currency.'],
  invalid_currency: [400, 'Client requested a conversion or rates for an unsupported currency.'],
  invalid_amount: [400, 'Client requested a conversion of an amount that is not a positive number.'],
  invalid_date: [400, 'Client requested a date that is not a valid YYYY-MM-DD day, or a range that ends before it starts.'],
  not_available: [400, 'Historical rates for the requested date are not available - please try a different date.'],
} as const;
type OxrMessage = keyof typeof ERRORS;

class OxrError extends Error {
  constructor(readonly oxrMessage: OxrMessage) {
    super(oxrMessage);
  }
}

interface Asked {
  base: string;
  symbols: string[] | null;
  source: string | null;
}

/**
 * `catchAll`: answer every other path under the mount with OXR's not_found (not where the routes are mounted at the
 * root's /api, beside fxpipe's own /api/v1).
 */
export function oxrApp(db: Db, token: string | undefined, answers: LatestAnswers, options: { catchAll: boolean }): Hono {
  const app = new Hono();
  // currencies.json is open on OXR too; every other route needs the App ID, here the token when one is set. Checked
  // per route, not as middleware: mounted at /api, middleware would run for fxpipe's /api/v1 too.
  const authorized = (c: Context) => {
    if (!token) return;
    const appId = c.req.query('app_id') ?? c.req.header('authorization')?.match(/^Token\s+(\S+)\s*$/i)?.[1];
    if (appId === undefined || appId === '') throw new OxrError('missing_app_id');
    if (!tokenMatches(token, appId)) throw new OxrError('invalid_app_id');
  };

  app.get('/latest.json', async (c) => {
    authorized(c);
    const q = asked(c);
    const answer = await answers.answer(`oxr latest ${questionOf(q)}`, async () => {
      const published = await publishedOn(db, { source: q.source, day: null });
      if (!published) throw new OxrError('not_available');
      const body = exactJson({
        disclaimer: DISCLAIMER,
        license: LICENSE,
        timestamp: seconds(published),
        base: q.base,
        rates: ratesOf(published, q),
      });
      return { body, contentType: JSON_TYPE, asOf: published.asOf };
    });
    return sendAnswer(c, answer, answers.nextRunAt);
  });
  app.get('/historical/:file{\\d{4}-\\d{2}-\\d{2}\\.json}', async (c) => {
    authorized(c);
    const q = asked(c);
    const date = day(c.req.param('file').slice(0, 10));
    const published = await publishedOn(db, { source: q.source, day: date });
    if (!published) throw new OxrError('not_available');
    return jsonText(
      c,
      exactJson({ disclaimer: DISCLAIMER, license: LICENSE, timestamp: seconds(published), base: q.base, rates: ratesOf(published, q) }),
      published,
      date,
    );
  });
  app.get('/time-series.json', async (c) => {
    authorized(c);
    const q = asked(c);
    const from = day(c.req.query('start'));
    const to = day(c.req.query('end'));
    if (from > to) throw new OxrError('invalid_date');
    const found = await publishedBetween(db, q.source, from, to);
    if (!found) throw new OxrError('not_available');
    return jsonText(
      c,
      exactJson({
        disclaimer: DISCLAIMER,
        license: LICENSE,
        start_date: from,
        end_date: to,
        base: q.base,
        rates: Object.fromEntries(found.days.map((d) => [d.date, ratesOf(d, q)])),
      }),
      found.days.at(-1)!,
      to,
    );
  });
  app.get('/convert/:value/:from/:to', async (c) => {
    authorized(c);
    const value = c.req.param('value');
    const from = c.req.param('from').toUpperCase();
    const to = c.req.param('to').toUpperCase();
    if (!AMOUNT.test(value) || Number(value) <= 0) throw new OxrError('invalid_amount');
    if (!CODE.test(from) || !CODE.test(to)) throw new OxrError('invalid_currency');
    const source = c.req.query('source')?.trim() || null;
    const answer = await answers.answer(`oxr convert ${JSON.stringify([value, from, to, source])}`, async () => {
      const published = await publishedOn(db, { source, day: null });
      if (!published) throw new OxrError('not_available');
      const rate = answeredRate(published, from, to, '1', ROUNDING);
      const response = answeredRate(published, from, to, value, ROUNDING);
      if (rate === null || response === null) throw new OxrError('invalid_currency');
      const body = exactJson({
        disclaimer: DISCLAIMER,
        license: LICENSE,
        request: { query: `/convert/${value}/${from}/${to}`, amount: jsonNumber(value), from, to },
        meta: { timestamp: seconds(published), rate: jsonNumber(rate) },
        response: jsonNumber(response),
      });
      return { body, contentType: JSON_TYPE, asOf: published.asOf };
    });
    return sendAnswer(c, answer, answers.nextRunAt);
  });
  app.get('/currencies.json', async (c) => {
    const answer = await answers.answer('oxr currencies', async () => ({
      body: JSON.stringify(Object.fromEntries((await currenciesInForce(db)).map((r) => [r.code, r.name]))),
      contentType: JSON_TYPE,
    }));
    return sendAnswer(c, answer, answers.nextRunAt);
  });
  if (options.catchAll) {
    app.all('*', () => {
      throw new OxrError('not_found');
    });
  }
  app.onError((error, c) => {
    if (!(error instanceof OxrError)) throw error;
    const [status, description] = ERRORS[error.oxrMessage];
    return c.json({ error: true, status, message: error.oxrMessage, description }, status);
  });
  return app;
}

function asked(c: Context): Asked {
  const base = (c.req.query('base') ?? 'USD').trim().toUpperCase();
  if (!CODE.test(base)) throw new OxrError('invalid_base');
  const list = c.req.query('symbols');
  const symbols = codeList(list);
  return { base, symbols, source: c.req.query('source')?.trim() || null };
}

/** A day asked for: the calendar's (isCalendarDay: no month 13, no 29 February outside leap years, years 0001 to 9999). */
function day(text: string | undefined): string {
  if (text === undefined || !isCalendarDay(text)) throw new OxrError('invalid_date');
  return text;
}

const seconds = (published: PublishedDay) => Math.floor(published.asOf.getTime() / 1000);

/** The rates against base, base itself included (1), as OXR lists them; symbols it does not know are left out, as OXR does. */
function ratesOf(published: PublishedDay, q: Asked): Record<string, unknown> {
  if (!published.usd.has(q.base)) throw new OxrError('invalid_base');
  return jsonRates(ratesAgainst(published, q.base, q.symbols, ROUNDING, { withBase: true }));
}

const JSON_TYPE = 'application/json; charset=utf-8';

const jsonText = (c: Context, text: string, last: PublishedDay, lastAsked: string): Response =>
  dayAnswer(c, text, JSON_TYPE, last.asOf, lastAsked);

/** A latest question, told apart from every other whatever the order or case of its parameters (never the app_id). */
const questionOf = (q: Asked) => JSON.stringify([q.base, q.symbols ? [...q.symbols].sort() : null, q.source]);
