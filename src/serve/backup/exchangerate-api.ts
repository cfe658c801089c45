import { Hono } from 'hono';
import { isCalendarDay } from '../../calendar/days.js';
import type { Db } from '../../warehouse/db.js';
import { bearerToken, tokenMatches } from '../auth.js';
import { dayCacheControl, sendAnswer } from '../http-cache.js';
import type { LatestAnswers } from '../last-good/latest-answers.js';
import { answeredRate, decimalPlaces, exactJson, jsonNumber } from './numbers.js';
import { currenciesInForce, publishedOn, type PublishedDay } from './published.js';

/**
 * ExchangeRate-API v6 (v6.exchangerate-api.com/v6/{key}/…) and its keyless open access (open.er-api.com/v6/latest/…),
 * answered from fxpipe's stored rates: docs/backup.md. Errors are theirs: `{result: "error", "error-type": …}`.
 */
const DOCUMENTATION = 'https://www.exchangerate-api.com/docs';
const TERMS = 'https://www.exchangerate-api.com/terms';
const CODE = /^[A-Z]{3}$/;
const AMOUNT = /^\d{1,15}(\.\d{1,15})?$/;
/** ExchangeRate-API's rates carry at most 6 decimal places; so do the ones computed here. */
const ROUNDING = decimalPlaces(6);
const DAY_SECONDS = 86_400;

type ErrorType = 'unsupported-code' | 'malformed-request' | 'invalid-key' | 'no-data-available';
const STATUS: Record<ErrorType, 400 | 403 | 404> = {
  'unsupported-code': 404,
  'malformed-request': 400,
  'invalid-key': 403,
  'no-data-available': 404,
};

class RateApiError extends Error {
  constructor(readonly errorType: ErrorType) {
    super(errorType);
  }
}

/** `{key}/latest/{base}`, `{key}/pair/{base}/{target}[/{amount}]`, `{key}/history/{base}/{y}/{m}/{d}`, `{key}/codes`. */
export function exchangerateApiApp(db: Db, token: string | undefined, answers: LatestAnswers): Hono {
  const app = new Hono();
  app.use('/:key/*', async (c, next) => {
    if (token && !tokenMatches(token, c.req.param('key'))) throw new RateApiError('invalid-key');
    return next();
  });
  app.get('/:key/latest/:base', async (c) => {
    const base = code(c.req.param('base'));
    const source = c.req.query('source')?.trim() || null;
    const answer = await answers.answer(`exchangerate-api latest ${JSON.stringify([base, source])}`, async () => {
      const published = await latest(db, source);
      const body = exactJson({
        result: 'success',
        documentation: DOCUMENTATION,
        terms_of_use: TERMS,
        ...updateTimes(published),
        base_code: base,
        conversion_rates: ratesOf(published, base),
      });
      return { body, contentType: JSON_TYPE, asOf: published.asOf };
    });
    return sendAnswer(c, answer, answers.nextRunAt);
  });
  app.get('/:key/pair/:base/:target/:amount?', async (c) => {
    const base = code(c.req.param('base'));
    const target = code(c.req.param('target'));
    const amount = c.req.param('amount');
    if (amount !== undefined && (!AMOUNT.test(amount) || Number(amount) <= 0)) throw new RateApiError('malformed-request');
    const source = c.req.query('source')?.trim() || null;
    const answer = await answers.answer(`exchangerate-api pair ${JSON.stringify([base, target, amount ?? null, source])}`, async () => {
      const published = await latest(db, source);
      const rate = rateOf(published, base, target, '1');
      const body = exactJson({
        result: 'success',
        documentation: DOCUMENTATION,
        terms_of_use: TERMS,
        ...updateTimes(published),
        base_code: base,
        target_code: target,
        conversion_rate: jsonNumber(rate),
        ...(amount === undefined ? {} : { conversion_result: jsonNumber(rateOf(published, base, target, amount)) }),
      });
      return { body, contentType: JSON_TYPE, asOf: published.asOf };
    });
    return sendAnswer(c, answer, answers.nextRunAt);
  });
  app.get('/:key/history/:base/:year/:month/:day', async (c) => {
    const base = code(c.req.param('base'));
    const date = historyDay(c.req.param('year'), c.req.param('month'), c.req.param('day'));
    const [year, month, day] = date.split('-').map(Number) as [number, number, number];
    const published = await publishedOn(db, { source: c.req.query('source')?.trim() || null, day: date });
    if (!published) throw new RateApiError('no-data-available');
    return c.body(
      exactJson({
        result: 'success',
        documentation: DOCUMENTATION,
        terms_of_use: TERMS,
        year,
        month,
        day,
        base_code: base,
        conversion_rates: ratesOf(published, base),
      }),
      200,
      {
        'Content-Type': JSON_TYPE,
        'Last-Modified': published.asOf.toUTCString(),
        'Cache-Control': dayCacheControl(date),
      },
    );
  });
  app.get('/:key/codes', async (c) => {
    const answer = await answers.answer('exchangerate-api codes', async () => ({
      body: JSON.stringify({
        result: 'success',
        documentation: DOCUMENTATION,
        terms_of_use: TERMS,
        supported_codes: (await currenciesInForce(db)).map((r) => [r.code, r.name]),
      }),
      contentType: JSON_TYPE,
    }));
    return sendAnswer(c, answer, answers.nextRunAt);
  });
  app.all('*', () => {
    throw new RateApiError('malformed-request');
  });
  app.onError((error, c) => {
    if (!(error instanceof RateApiError)) throw error;
    return c.json(
      { result: 'error', documentation: DOCUMENTATION, 'terms-of-use': TERMS, 'error-type': error.errorType },
      STATUS[error.errorType],
    );
  });
  return app;
}

/**
 * open.er-api.com's `latest/{base}`: keyless. With a token set it is taken as a bearer header or ?token= (the open
 * access carries no key of its own).
 */
export function openErApiApp(db: Db, token: string | undefined, answers: LatestAnswers): Hono {
  const app = new Hono();
  app.use(async (c, next) => {
    if (!token) return next();
    if (tokenMatches(token, bearerToken(c) ?? c.req.query('token'))) return next();
    throw new RateApiError('invalid-key');
  });
  app.get('/latest/:base', async (c) => {
    const base = code(c.req.param('base'));
    const source = c.req.query('source')?.trim() || null;
    const answer = await answers.answer(`open-er-api latest ${JSON.stringify([base, source])}`, async () => {
      const published = await latest(db, source);
      const body = exactJson({
        result: 'success',
        provider: 'https://www.exchangerate-api.com',
        documentation: 'https://www.exchangerate-api.com/docs/free',
        terms_of_use: TERMS,
        ...updateTimes(published),
        time_eol_unix: 0,
        base_code: base,
        rates: ratesOf(published, base),
      });
      return { body, contentType: JSON_TYPE, asOf: published.asOf };
    });
    return sendAnswer(c, answer, answers.nextRunAt);
  });
  app.all('*', () => {
    throw new RateApiError('malformed-request');
  });
  app.onError((error, c) => {
    if (!(error instanceof RateApiError)) throw error;
    return c.json({ result: 'error', 'error-type': error.errorType }, STATUS[error.errorType]);
  });
  return app;
}

function code(text: string): string {
  const upper = text.toUpperCase();
  if (!CODE.test(upper)) throw new RateApiError('unsupported-code');
  return upper;
}

/** `{year}/{month}/{day}` in digits (2024/1/9 or 2024/01/09) as YYYY-MM-DD; malformed-request unless a day of the calendar. */
function historyDay(year: string, month: string, day: string): string {
  if (!/^\d{4}$/.test(year) || !/^\d{1,2}$/.test(month) || !/^\d{1,2}$/.test(day)) throw new RateApiError('malformed-request');
  const date = `${year}-${month.padStart(2, '0')}-${day.padStart(2, '0')}`;
  if (!isCalendarDay(date)) throw new RateApiError('malformed-request');
  return date;
}

async function latest(db: Db, source: string | null): Promise<PublishedDay> {
  const published = await publishedOn(db, { source, day: null });
  if (!published) throw new RateApiError('no-data-available');
  return published;
}

/** The provider's update times: the publication's, and the next one a day later (the cadence it announces). */
function updateTimes(published: PublishedDay) {
  const last = Math.floor(published.asOf.getTime() / 1000);
  const next = last + DAY_SECONDS;
  return {
    time_last_update_unix: last,
    time_last_update_utc: utc(last),
    time_next_update_unix: next,
    time_next_update_utc: utc(next),
  };
}

/** "Tue, 09 Jan 2024 00:02:31 +0000", as the provider writes it. */
const utc = (seconds: number) => new Date(seconds * 1000).toUTCString().replace('GMT', '+0000');

/** Every rate against base, base itself first as 1, then alphabetical (as the provider lists them). */
function ratesOf(published: PublishedDay, base: string): Record<string, unknown> {
  if (!published.usd.has(base)) throw new RateApiError('unsupported-code');
  const codes = [...published.usd.keys()].filter((c) => c !== base).sort();
  return Object.fromEntries([
    [base, jsonNumber('1')],
    ...codes.map((c): [string, unknown] => [c, jsonNumber(rateOf(published, base, c, '1'))]),
  ]);
}

function rateOf(published: PublishedDay, base: string, target: string, amount: string): string {
  const rate = answeredRate(published, base, target, amount, ROUNDING);
  if (rate === null) throw new RateApiError('unsupported-code');
  return rate;
}

const JSON_TYPE = 'application/json';
