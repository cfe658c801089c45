import { Hono, type Context } from 'hono';
import { daysBetween, dayOf, isCalendarDay } from '../../calendar/days.js';
import { percentChange } from '../../transform/change-filter.js';
import { RateDecimal } from '../../transform/decimal.js';
import type { Db } from '../../warehouse/db.js';
import { tokenMatches } from '../auth.js';
import { dayAnswer, sendAnswer } from '../http-cache.js';
import type { LatestAnswers } from '../last-good/latest-answers.js';
import { answeredRate, codeList, decimalPlaces, exactJson, jsonNumber, jsonRates, ratesAgainst } from './numbers.js';
import { currenciesInForce, publishedBetween, publishedOn, type PublishedDay } from './published.js';

/**
 * Fixer (fixer.io, apilayer; exchangerate.host and currencylayer share its shape), answered from fxpipe's stored
 * publications: docs/backup.md, "Fixer". Errors are Fixer's: `{success: false, error: {code, type, info}}`, with HTTP
 * 200 as Fixer answers them (its clients read `success`, not the status).
 */
const CODE = /^[A-Z]{3}$/;
const AMOUNT = /^\d{1,15}(\.\d{1,15})?$/;
/** Fixer writes its rates with at most 6 decimal places (its documentation's examples: 1.566015, 132.360679). */
const ROUNDING = decimalPlaces(6);
/** Fluctuation's change and change_pct: 4 decimal places (its documentation's example: 0.0038 and 0.3078 for 1.228952 → 1.232735). */
const CHANGE_ROUNDING = decimalPlaces(4);
/** The longest timeframe timeseries and fluctuation take (Fixer's 505). */
const MAX_TIMEFRAME_DAYS = 365;

/** Fixer's documented errors (fixer.io/documentation, "Potential Errors"); 401 and 402 from currencylayer's list (see docs). */
export const ERRORS = {
  missing_access_key: [101, 'No API access key was supplied. [Required format: access_key=YOUR_ACCESS_KEY]'],
  invalid_access_key: [101, 'The API access key supplied is not valid.'],
  invalid_api_function: [103, 'The requested API function does not exist.'],
  no_rates_available: [106, 'Your query did not return any results. Please try again.'],
  invalid_base_currency: [201, 'An invalid base currency has been entered.'],
  invalid_currency_codes: [202, 'One or more invalid symbols have been specified. [Required format: symbols=EUR,USD,GBP,...]'],
  invalid_date: [302, 'An invalid date has been specified. [Required format: YYYY-MM-DD]'],
  invalid_from_currency: [401, 'An invalid "from" currency has been specified.'],
  invalid_to_currency: [402, 'An invalid "to" currency has been specified.'],
  invalid_conversion_amount: [403, 'No or an invalid amount has been specified. [Example: amount=25]'],
  no_timeframe_supplied: [501, 'No timeframe has been specified. [Required format: start_date=YYYY-MM-DD&end_date=YYYY-MM-DD]'],
  invalid_start_date: [502, 'No or an invalid "start_date" has been specified. [Required format: YYYY-MM-DD]'],
  invalid_end_date: [503, 'No or an invalid "end_date" has been specified. [Required format: YYYY-MM-DD]'],
  invalid_time_frame: [504, 'An invalid timeframe has been specified: end_date is before start_date.'],
  time_frame_too_long: [505, `The specified timeframe is too long, exceeding ${MAX_TIMEFRAME_DAYS} days.`],
} as const;
export type FixerType = keyof typeof ERRORS;

class FixerError extends Error {
  constructor(readonly fixerType: FixerType) {
    super(fixerType);
  }
}

interface Asked {
  base: string;
  symbols: string[] | null;
  source: string | null;
}

/** `latest`, `{YYYY-MM-DD}`, `timeseries`, `fluctuation`, `convert`, `symbols`; every other path is Fixer's 103. */
export function fixerApp(db: Db, token: string | undefined, answers: LatestAnswers): Hono {
  const app = new Hono();
  // Every Fixer route takes the key as ?access_key= (apilayer's own gateway: an `apikey` header); here the token when one is set.
  app.use('*', async (c, next) => {
    if (!token) return next();
    const key = c.req.query('access_key') ?? c.req.header('apikey');
    if (key === undefined || key === '') throw new FixerError('missing_access_key');
    if (!tokenMatches(token, key)) throw new FixerError('invalid_access_key');
    return next();
  });

  app.get('/latest', async (c) => {
    const q = asked(c);
    const answer = await answers.answer(`fixer latest ${questionOf(q)}`, async () => {
      const published = await publishedOn(db, { source: q.source, day: null });
      if (!published) throw new FixerError('no_rates_available');
      const rates = ratesOf(published, q, [published]);
      const body = exactJson({ success: true, timestamp: seconds(published), base: q.base, date: published.date, rates });
      return { body, contentType: JSON_TYPE, asOf: published.asOf };
    });
    return sendAnswer(c, answer, answers.nextRunAt);
  });

  app.get('/symbols', async (c) => {
    const answer = await answers.answer('fixer symbols', async () => ({
      body: JSON.stringify({ success: true, symbols: Object.fromEntries((await currenciesInForce(db)).map((r) => [r.code, r.name])) }),
      contentType: JSON_TYPE,
    }));
    return sendAnswer(c, answer, answers.nextRunAt);
  });

  app.get('/timeseries', async (c) => {
    const q = asked(c);
    const [from, to] = timeframe(c);
    const found = await publishedBetween(db, q.source, from, to);
    if (!found) throw new FixerError('no_rates_available');
    const rates = Object.fromEntries(found.days.map((d) => [d.date, ratesOf(d, q, found.days)]));
    const body = exactJson({ success: true, timeseries: true, start_date: from, end_date: to, base: q.base, rates });
    return jsonText(c, body, found.days.at(-1)!, to);
  });

  app.get('/fluctuation', async (c) => {
    const q = asked(c);
    const [from, to] = timeframe(c);
    // The rates in force on each end day, from one source: the one asked for, else the preferred one on end_date.
    const end = await publishedOn(db, { source: q.source, day: to });
    const start = end && (await publishedOn(db, { source: end.source, day: from }));
    if (!end || !start) throw new FixerError('no_rates_available');
    const startRates = rateTexts(start, q, [start, end]);
    const rates = Object.fromEntries(
      [...rateTexts(end, q, [start, end])].flatMap(([code, last]) => {
        const first = startRates.get(code);
        if (first === undefined) return [];
        // change and change_pct from the rates shown, unrounded until the end (Fixer's example: 0.003783 → 0.0038, 0.3078 %).
        const change = new RateDecimal(last).minus(first);
        return [
          [
            code,
            {
              start_rate: jsonNumber(first),
              end_rate: jsonNumber(last),
              change: jsonNumber(CHANGE_ROUNDING.round(change)),
              change_pct: jsonNumber(CHANGE_ROUNDING.round(percentChange(new RateDecimal(first), new RateDecimal(last)))),
            },
          ],
        ];
      }),
    );
    return jsonText(c, exactJson({ success: true, fluctuation: true, start_date: from, end_date: to, base: q.base, rates }), end, to);
  });

  app.get('/convert', async (c) => {
    const from = (c.req.query('from') ?? '').trim().toUpperCase();
    const to = (c.req.query('to') ?? '').trim().toUpperCase();
    const amount = (c.req.query('amount') ?? '').trim();
    const date = c.req.query('date')?.trim() || null;
    if (!CODE.test(from)) throw new FixerError('invalid_from_currency');
    if (!CODE.test(to)) throw new FixerError('invalid_to_currency');
    if (!AMOUNT.test(amount) || new RateDecimal(amount).lte(0)) throw new FixerError('invalid_conversion_amount');
    const source = c.req.query('source')?.trim() || null;
    const converted = (published: PublishedDay, historical: boolean) => {
      if (!published.usd.has(from)) throw new FixerError('invalid_from_currency');
      const rate = answeredRate(published, from, to, '1', ROUNDING);
      if (rate === null) throw new FixerError('invalid_to_currency');
      // The result is the rate shown times the amount, exactly (Fixer's example: 148.972231 × 25 = 3724.305775).
      return exactJson({
        success: true,
        query: { from, to, amount: jsonNumber(amount) },
        info: { timestamp: seconds(published), rate: jsonNumber(rate) },
        ...(historical ? { historical: true } : {}),
        date: historical ? date : published.date,
        result: jsonNumber(new RateDecimal(rate).times(amount).toFixed()),
      });
    };
    if (date !== null) {
      const published = await publishedOn(db, { source, day: pastDay(date, 'invalid_date') });
      if (!published) throw new FixerError('no_rates_available');
      return jsonText(c, converted(published, true), published, date);
    }
    const answer = await answers.answer(`fixer convert ${JSON.stringify([from, to, amount, source])}`, async () => {
      const published = await publishedOn(db, { source, day: null });
      if (!published) throw new FixerError('no_rates_available');
      return { body: converted(published, false), contentType: JSON_TYPE, asOf: published.asOf };
    });
    return sendAnswer(c, answer, answers.nextRunAt);
  });

  // A day's rates: the last publication on or before it, under the date asked for ("historical": true).
  app.get('/:date{\\d{4}-\\d{2}-\\d{2}}', async (c) => {
    const q = asked(c);
    const date = pastDay(c.req.param('date'), 'invalid_date');
    const published = await publishedOn(db, { source: q.source, day: date });
    if (!published) throw new FixerError('no_rates_available');
    const rates = ratesOf(published, q, [published]);
    const body = exactJson({ success: true, historical: true, date, timestamp: seconds(published), base: q.base, rates });
    return jsonText(c, body, published, date);
  });

  app.all('*', () => {
    throw new FixerError('invalid_api_function');
  });
  app.onError((error, c) => {
    if (!(error instanceof FixerError)) throw error;
    const [code, info] = ERRORS[error.fixerType];
    return c.json({ success: false, error: { code, type: error.fixerType, info } }, 200, { 'Cache-Control': 'no-store' });
  });
  return app;
}

/** base (default EUR, as Fixer's), symbols, and fxpipe's own `source`. */
function asked(c: Context): Asked {
  const base = (c.req.query('base') ?? 'EUR').trim().toUpperCase();
  if (!CODE.test(base)) throw new FixerError('invalid_base_currency');
  const list = c.req.query('symbols');
  const symbols = codeList(list);
  if (symbols?.some((s) => !CODE.test(s))) throw new FixerError('invalid_currency_codes');
  return { base, symbols, source: c.req.query('source')?.trim() || null };
}

/** A calendar day not after today (UTC): a later one has no rates yet (106). */
function pastDay(text: string | undefined, invalid: FixerType): string {
  if (text === undefined || !isCalendarDay(text)) throw new FixerError(invalid);
  if (text > dayOf(new Date())) throw new FixerError('no_rates_available');
  return text;
}

/** start_date and end_date: both days, in order, at most MAX_TIMEFRAME_DAYS apart. */
function timeframe(c: Context): [string, string] {
  const [start, end] = [c.req.query('start_date'), c.req.query('end_date')];
  if (!start && !end) throw new FixerError('no_timeframe_supplied');
  if (start === undefined || !isCalendarDay(start)) throw new FixerError('invalid_start_date');
  if (end === undefined || !isCalendarDay(end)) throw new FixerError('invalid_end_date');
  if (end < start) throw new FixerError('invalid_time_frame');
  if (daysBetween(start, end) > MAX_TIMEFRAME_DAYS) throw new FixerError('time_frame_too_long');
  return [start, end];
}

const seconds = (published: PublishedDay) => Math.floor(published.asOf.getTime() / 1000);

/**
 * The day's rates against base, base itself included (1), in code order, as text; base and every symbol must be a
 * currency the answer's days carry (201, 202). A day of a range without base has none.
 */
function rateTexts(published: PublishedDay, q: Asked, days: PublishedDay[]): Map<string, string> {
  if (!days.some((d) => d.usd.has(q.base))) throw new FixerError('invalid_base_currency');
  if (q.symbols?.some((s) => !days.some((d) => d.usd.has(s)))) throw new FixerError('invalid_currency_codes');
  if (!published.usd.has(q.base)) return new Map();
  return ratesAgainst(published, q.base, q.symbols, ROUNDING, { withBase: true });
}

/** The same, as the numbers of a JSON answer. */
const ratesOf = (published: PublishedDay, q: Asked, days: PublishedDay[]): Record<string, unknown> =>
  jsonRates(rateTexts(published, q, days));

const JSON_TYPE = 'application/json; charset=utf-8';

const jsonText = (c: Context, text: string, last: PublishedDay, lastAsked: string): Response =>
  dayAnswer(c, text, JSON_TYPE, last.asOf, lastAsked);

/** A latest question, told apart from every other whatever the order or case of its parameters (never the key). */
const questionOf = (q: Asked) => JSON.stringify([q.base, q.symbols ? [...q.symbols].sort() : null, q.source]);
