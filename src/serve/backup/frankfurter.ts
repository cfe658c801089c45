import { Hono, type Context } from 'hono';
import { isCalendarDay } from '../../calendar/days.js';
import type { Db } from '../../warehouse/db.js';
import { bearerToken, tokenMatches } from '../auth.js';
import { dayAnswer, sendAnswer } from '../http-cache.js';
import type { LatestAnswers } from '../last-good/latest-answers.js';
import { FRANKFURTER_ROUNDING, codeList, exactJson, jsonNumber, jsonRates, ratesAgainst } from './numbers.js';
import { currenciesInForce, publishedBetween, publishedOn, type PublishedDay } from './published.js';

/**
 * Frankfurter v1 (api.frankfurter.dev/v1, and the exchangeratesapi.io paths its older clients call), answered from
 * fxpipe's stored rates: docs/backup.md. Errors are Frankfurter's (lineofflight/frankfurter, lib/versions/v1.rb): 404
 * `{"message":"not found"}` when nothing matches, 422 `{"message": …}` for a date or amount it cannot read.
 */
const DAY = /^\d{4}-\d{2}-\d{2}$/;
const CODE = /^[A-Z]{3}$/;
const AMOUNT = /^\d{1,15}(\.\d{1,15})?$/;

class FrankfurterError extends Error {
  constructor(
    readonly status: 404 | 422,
    message: string,
  ) {
    super(message);
  }
}

const notFound = () => new FrankfurterError(404, 'not found');

interface Asked {
  base: string;
  symbols: string[] | null;
  amount: string;
  source: string | null;
}

export function frankfurterApp(db: Db, token: string | undefined, answers: LatestAnswers): Hono {
  const app = new Hono();
  app.use(async (c, next) => {
    if (!token) return next();
    if (tokenMatches(token, bearerToken(c) ?? c.req.query('token'))) return next();
    return c.json({ message: 'unauthorized: send Authorization: Bearer <token> or ?token=' }, 401);
  });

  app.get('/latest', async (c) => {
    const q = asked(c);
    const answer = await answers.answer(`frankfurter latest ${questionOf(q)}`, async () => {
      const published = await publishedOn(db, { source: q.source, day: null });
      return { body: oneText(published, q), contentType: JSON_TYPE, asOf: published?.asOf };
    });
    return sendAnswer(c, answer, answers.nextRunAt);
  });
  app.get('/currencies', async (c) => {
    const answer = await answers.answer('frankfurter currencies', async () => ({
      body: JSON.stringify(Object.fromEntries((await currenciesInForce(db)).map((r) => [r.code, r.name]))),
      contentType: JSON_TYPE,
    }));
    return sendAnswer(c, answer, answers.nextRunAt);
  });
  // exchangeratesapi.io's time series, which its clients (and Frankfurter's first version) call.
  app.get('/history', async (c) => {
    const from = day(c.req.query('start_at'));
    const to = day(c.req.query('end_at'));
    return range(c, from, to, asked(c), 'start_at', 'end_at');
  });
  app.get('/:path{\\d{4}-\\d{2}-\\d{2}(\\.\\.(\\d{4}-\\d{2}-\\d{2})?)?}', async (c) => {
    const [from, to] = c.req.param('path').split('..');
    const q = asked(c);
    if (to === undefined) {
      const date = day(from);
      const published = await publishedOn(db, { source: q.source, day: date });
      if (!published) throw notFound();
      return jsonText(c, oneText(published, q), published, date);
    }
    return range(c, day(from), to === '' ? new Date().toISOString().slice(0, 10) : day(to), q, 'start_date', 'end_date');
  });
  app.all('*', (c) => c.json({ message: 'not found' }, 404));
  app.onError((error, c) => {
    if (error instanceof FrankfurterError) return c.json({ message: error.message }, error.status);
    throw error;
  });

  async function range(c: Context, from: string, to: string, q: Asked, startKey: string, endKey: string) {
    // A range that ends before it starts holds no day: Frankfurter's query finds nothing (lib/rate_scopes.rb, between).
    if (from > to) throw notFound();
    const found = await publishedBetween(db, q.source, from, to);
    if (!found) throw notFound();
    const rates = Object.fromEntries(found.days.map((d) => [d.date, ratesOf(d, q)]));
    const body = {
      amount: amountNumber(q.amount),
      base: q.base,
      [startKey]: found.days[0]!.date,
      [endKey]: found.days.at(-1)!.date,
      rates,
    };
    return jsonText(c, exactJson(body), found.days.at(-1)!, to);
  }

  return app;
}

/** base, symbols (or from, to), amount and source, as Frankfurter and exchangeratesapi.io name them. */
function asked(c: Context): Asked {
  const base = (c.req.query('base') ?? c.req.query('from') ?? 'EUR').trim().toUpperCase();
  if (!CODE.test(base)) throw notFound();
  const list = c.req.query('symbols') ?? c.req.query('to');
  const symbols = codeList(list);
  if (symbols?.some((s) => !CODE.test(s))) throw notFound();
  const amount = (c.req.query('amount') ?? '1').trim();
  if (!AMOUNT.test(amount) || Number(amount) <= 0) throw new FrankfurterError(422, 'amount must be a positive number');
  const source = c.req.query('source')?.trim() || null;
  return { base, symbols, amount, source };
}

/**
 * A day asked for. Not written YYYY-MM-DD: no such route (404). Written so but not a day of the calendar (2025-13-01,
 * 2023-02-29): 422 `invalid date`, Ruby's Date.parse refusing it in Frankfurter. Year 0000, a day in Ruby's calendar
 * (which has a year 0) but in neither PostgreSQL's nor fxpipe's: 404, as Frankfurter finds no rates that old.
 */
function day(text: string | undefined): string {
  if (text === undefined || !DAY.test(text)) throw notFound();
  if (isCalendarDay(text)) return text;
  // Year 0 keeps the leap years of year 400 (both divisible by 400).
  if (text.startsWith('0000-') && isCalendarDay(`0400${text.slice(4)}`)) throw notFound();
  throw new FrankfurterError(422, 'invalid date');
}

/** The day's rates against base, alphabetical, base left out; 404 when base or a symbol is not among them. */
function ratesOf(published: PublishedDay, q: Asked): Record<string, unknown> {
  if (!published.usd.has(q.base)) throw notFound();
  if (q.symbols?.some((s) => s !== q.base && !published.usd.has(s))) throw notFound();
  return jsonRates(ratesAgainst(published, q.base, q.symbols, FRANKFURTER_ROUNDING, { amount: q.amount, withBase: false }));
}

/** Frankfurter writes the amount as a float: 1.0, 100.0, 12.5. */
const amountNumber = (amount: string) => jsonNumber(amount.includes('.') ? amount : `${amount}.0`);

function oneText(published: PublishedDay | null, q: Asked): string {
  if (!published) throw notFound();
  return exactJson({ amount: amountNumber(q.amount), base: q.base, date: published.date, rates: ratesOf(published, q) });
}

const JSON_TYPE = 'application/json; charset=UTF-8';

/** A day's answer, or a range's (lastAsked: the range's last day). */
const jsonText = (c: Context, text: string, last: PublishedDay, lastAsked = last.date): Response =>
  dayAnswer(c, text, JSON_TYPE, last.asOf, lastAsked);

/** A latest question, told apart from every other whatever the order or case of its parameters. */
const questionOf = (q: Asked) => JSON.stringify([q.base, q.symbols ? [...q.symbols].sort() : null, q.amount, q.source]);
