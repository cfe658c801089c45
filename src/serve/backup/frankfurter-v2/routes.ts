import { Hono, type Context } from 'hono';
import type { Db } from '../../../warehouse/db.js';
import { bearerToken, tokenMatches } from '../../auth.js';
import { CLOSED, dayCacheControl, sendAnswer } from '../../http-cache.js';
import { etagOf, type LatestAnswers } from '../../last-good/latest-answers.js';
import { v2Document } from '../../openapi/frankfurter-v2.js';
import { currencyDetail, currencyList, providerList } from './catalog.js';
import {
  CONTENT_TYPES,
  csvHeader,
  rateFormat,
  recordCsv,
  recordJson,
  requestedType,
  splitSuffix,
  wholeText,
  type Format,
} from './formats.js';
import { isDateRelative, isRange, notFound, rangeEnd, rateQuery, V2Error, type RateQuery } from './query.js';
import { rateBatches, type Batch } from './rates.js';

/**
 * Frankfurter v2 (api.frankfurter.dev/v2), answered from fxpipe's stored rates: docs/backup.md, "Frankfurter v2".
 * Routes, parameters, formats and errors as lineofflight/frankfurter's lib/versions/v2.rb: errors are
 * `{"status": …, "message": …}`, 404 `not found`, 422 for a question RateQuery refuses.
 */
const JSON_TYPE = 'application/json; charset=utf-8';
/** v2.rb, ROOT_PAYLOAD; its document where fxpipe serves it. */
const ROOT_PAYLOAD = { version: 'v2', status: 'current', openapi: '/frankfurter/v2/openapi.json', docs: 'https://frankfurter.dev' };

export function frankfurterV2App(db: Db, token: string | undefined, answers: LatestAnswers): Hono {
  const app = new Hono();
  app.use(async (c, next) => {
    // The document is open, as fxpipe's /openapi.json is (and Frankfurter's static one).
    if (!token || c.req.path.endsWith('/openapi.json') || tokenMatches(token, bearerToken(c) ?? c.req.query('token'))) return next();
    return c.json({ status: 401, message: 'unauthorized: send Authorization: Bearer <token> or ?token=' }, 401);
  });

  const allSources = async () =>
    (await db.query<{ source_name: string }>('select source_name from dim_source order by source_name')).map((r) => r.source_name);

  const root = (c: Context) => c.json(ROOT_PAYLOAD, 200, { 'Cache-Control': CLOSED });
  // Roda answers both /v2 and /v2/ (r.is, r.root); Hono's mount answers the first, the catch-all below the second.
  app.get('/', root);
  // Served by Frankfurter's static files (lib/app.rb), before v2's own routes.
  app.get('/openapi.json', (c) => c.json(v2Document(), 200, { 'Cache-Control': 'public, max-age=86400' }));

  const rates = (suffix: string | null) => async (c: Context) => {
    const q = rateQuery(new URL(c.req.url).searchParams);
    const { format, varyAccept } = rateFormat(suffix, c.req.header('Accept'));
    if (varyAccept) c.header('Vary', 'Accept');
    const batches = () => rateBatches(db, q, allSources);
    if (isRange(q)) return streamed(c, q, format, batches());
    if (isDateRelative(q)) {
      const answer = await answers.answer(`frankfurter-v2 rates ${format} ${JSON.stringify(q)}`, async () => {
        const { records, asOf } = await collect(batches());
        return { body: wholeText(records, format, q.expandProviders), contentType: CONTENT_TYPES[format], ...(asOf ? { asOf } : {}) };
      });
      return sendAnswer(c, answer, answers.nextRunAt);
    }
    const { records, asOf } = await collect(batches());
    if (asOf) c.header('Last-Modified', asOf.toUTCString());
    return c.body(wholeText(records, format, q.expandProviders), 200, {
      'Content-Type': CONTENT_TYPES[format],
      'Cache-Control': dayCacheControl(q.date!),
    });
  };
  // Roda's type_routing takes a suffix off the path: .csv names CSV.
  app.get('/rates', rates(null));
  app.get('/rates.csv', rates('csv'));

  // /rate/{base}/{quote}: the first record of the same question with base and quotes from the path (v2.rb).
  app.get('/rate/:base/:quote', async (c) => {
    const q = rateQuery(new URL(c.req.url).searchParams, {
      base: c.req.param('base').toUpperCase(),
      quotes: splitSuffix(c.req.param('quote')).name.toUpperCase(),
    });
    const firstRecord = async () => {
      const batches = rateBatches(db, q, allSources);
      const first = await batches.next();
      await batches.return(undefined);
      const record = first.done ? undefined : first.value.records[0];
      if (!record) throw notFound();
      return { body: recordJson(record), contentType: JSON_TYPE, asOf: (first.value as Batch).asOf };
    };
    if (isDateRelative(q) && !isRange(q)) {
      return sendAnswer(c, await answers.answer(`frankfurter-v2 rate ${JSON.stringify(q)}`, firstRecord), answers.nextRunAt);
    }
    const { body, asOf } = await firstRecord();
    return c.body(body, 200, {
      'Content-Type': JSON_TYPE,
      'Cache-Control': dayCacheControl(q.date ?? rangeEnd(q)),
      'Last-Modified': asOf.toUTCString(),
    });
  });

  // Every other route refuses CSV (v2.rb: `r.csv { r.halt(406) }`), by suffix or Accept.
  const plain = (c: Context, segment: string): string => {
    const { name, suffix } = splitSuffix(segment);
    const { type, varyAccept } = requestedType(suffix, c.req.header('Accept'));
    if (varyAccept) c.header('Vary', 'Accept');
    if (type === 'csv') throw new V2Error(406, '');
    return name;
  };
  app.get('/currencies', async (c) => {
    plain(c, 'currencies');
    const [scope, providers] = [c.req.query('scope'), c.req.query('providers')];
    const answer = await answers.answer(`frankfurter-v2 currencies ${JSON.stringify([scope ?? null, providers ?? null])}`, async () => ({
      body: JSON.stringify(await currencyList(db, scope, providers)),
      contentType: JSON_TYPE,
    }));
    return sendAnswer(c, answer, answers.nextRunAt);
  });
  app.get('/currency/:code', async (c) => {
    const code = plain(c, c.req.param('code')).toUpperCase();
    const answer = await answers.answer(`frankfurter-v2 currency ${code}`, async () => {
      const found = await currencyDetail(db, code);
      if (!found) throw notFound();
      return { body: JSON.stringify(found), contentType: JSON_TYPE };
    });
    return sendAnswer(c, answer, answers.nextRunAt);
  });
  app.get('/providers', async (c) => {
    plain(c, 'providers');
    const answer = await answers.answer('frankfurter-v2 providers', async () => ({
      body: JSON.stringify(await providerList(db)),
      contentType: JSON_TYPE,
    }));
    return sendAnswer(c, answer, answers.nextRunAt);
  });

  app.all('*', (c) => {
    if (c.req.method === 'GET' && /^\/frankfurter\/v2\/$/.test(c.req.path)) return root(c);
    plain(c, c.req.path.split('/').at(-1) ?? '');
    throw notFound();
  });
  app.onError((error, c) => {
    if (error instanceof V2Error) {
      return error.status === 406 ? c.body(null, 406) : c.json({ status: error.status, message: error.message }, error.status);
    }
    throw error;
  });

  /**
   * A range, streamed in its parts (JSON array, NDJSON lines or CSV) so it never sits whole in memory. Its first part
   * is read before the answer starts, so that an error is still an error answer (v2.rb, eager_split); a failure later
   * errors the stream, which breaks the answer off rather than ending it as if whole (hono/streaming's helper would
   * close it as if complete). Tagged with the data version and the question, so a
   * matching If-None-Match answers 304 without reading a rate.
   */
  async function streamed(c: Context, q: RateQuery, format: Format, batches: AsyncGenerator<Batch>): Promise<Response> {
    const etag = etagOf(JSON.stringify([await answers.dataVersion(), format, q, rangeEnd(q)]));
    const headers = {
      'Content-Type': format === 'json' ? JSON_TYPE : CONTENT_TYPES[format],
      'Cache-Control': dayCacheControl(rangeEnd(q)),
      ETag: etag,
    };
    if (
      c.req
        .header('If-None-Match')
        ?.split(/\s*,\s*/)
        .includes(etag)
    ) {
      await batches.return(undefined);
      return c.body(null, 304, headers);
    }
    const first = await batches.next();
    const encoder = new TextEncoder();
    let written = 0;
    const text = (records: Batch['records']) =>
      records
        .map((record) => {
          const line =
            format === 'csv'
              ? recordCsv(record, q.expandProviders)
              : format === 'ndjson'
                ? `${recordJson(record)}\n`
                : `${written === 0 ? '' : ','}${recordJson(record)}`;
          written++;
          return line;
        })
        .join('');
    let opened = false;
    let ended = false;
    // Pulled a part at a time: the next part is read only once the client has taken the last.
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (!opened) {
          opened = true;
          const head = format === 'json' ? '[' : format === 'csv' ? csvHeader(q.expandProviders) : '';
          controller.enqueue(encoder.encode(head + (first.done ? '' : text(first.value.records))));
          return;
        }
        const next = ended ? { done: true as const, value: undefined } : await batches.next();
        if (next.done) {
          ended = true;
          if (format === 'json') controller.enqueue(encoder.encode(']'));
          controller.close();
          return;
        }
        controller.enqueue(encoder.encode(text(next.value.records)));
      },
      async cancel() {
        await batches.return(undefined);
      },
    });
    return c.body(body, 200, headers);
  }

  return app;
}

async function collect(batches: AsyncGenerator<Batch>): Promise<{ records: Batch['records']; asOf: Date | null }> {
  const records: Batch['records'] = [];
  let asOf: Date | null = null;
  for await (const batch of batches) {
    records.push(...batch.records);
    if (!asOf || batch.asOf > asOf) asOf = batch.asOf;
  }
  return { records, asOf };
}
