import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson } from '../../src/alerts/webhook.js';
import { oneLine } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { redactUrl, requestTarget, withoutUserInfo } from '../../src/util/secrets.js';
import { fetchProductionRates } from '../../src/verify/production-url.js';
import { initWarehouse } from '../../src/warehouse/init.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { closedPortOrigin } from '../helpers/webhook-receiver.js';
import { matcher } from '../helpers/matcher.js';
import { OPEN_ER } from '../serve/backup-support.js';
import { manualRun } from '../helpers/pipeline.js';

const USER = 'fx user';
const PASSWORD = 'pa@ss:w0rd-7c1e';
/** The user-info as written in a URL: percent-encoded (RFC 3986). */
const USER_INFO = `${encodeURIComponent(USER)}:${encodeURIComponent(PASSWORD)}`;
const BASIC = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

/**
 * A URL's user-info (user:password@) is a credential: sent as HTTP basic authentication, never in a message, a log line
 * or a stored row (src/util/secrets.ts). Checked against a server on 127.0.0.1 that answers only the right
 * Authorization header, for a provider's base URL (the pipeline), a production URL (fxpipe verify --url) and a webhook.
 */
describe('URL user-info', () => {
  let server: Server;
  let origin: string;
  const seen: IncomingHttpHeaders[] = [];

  beforeAll(async () => {
    server = createServer((request, response) => {
      seen.push(request.headers);
      request.resume();
      const json = { 'content-type': 'application/json' };
      if (request.headers.authorization !== BASIC) return void response.writeHead(401, json).end('{"result":"error"}');
      if (request.method === 'POST') return void response.writeHead(200, { 'content-type': 'text/plain' }).end('Accepted');
      const found = request.url === '/v6/latest/USD';
      response.writeHead(found ? 200 : 404, json).end(found ? OPEN_ER : '');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => {
    server?.close();
  });

  const withUserInfo = (url: string) => url.replace('://', `://${USER_INFO}@`);

  it('is removed from every URL shown and every message; a request sends it as basic authentication', () => {
    expect(redactUrl(`postgres://fxpipe:${USER_INFO}@db.internal:5432/fxpipe`)).toBe('postgres://db.internal:5432/fxpipe');
    expect(redactUrl('https://api.example/v6/latest')).toBe('https://api.example/v6/latest');
    // Not a URL the parser takes (a space in the host): the text rule still removes it.
    expect(redactUrl(`https://${USER_INFO}@bad host/`)).toBe('https://bad host/');
    const fetchSaid = 'Request cannot be constructed from a URL that includes credentials:';
    const quoted = `${fetchSaid} https://fxuser:p@ss@h.example/x?k=1 and postgres://u:${USER_INFO}@db/x`;
    expect(withoutUserInfo(quoted)).toBe(`${fetchSaid} https://h.example/x?k=1 and postgres://db/x`);
    expect(oneLine(new Error(`cannot reach\n  ${withUserInfo('https://h.example/')}`))).toBe('cannot reach https://h.example/');
    const target = requestTarget(withUserInfo('https://h.example/v1'));
    expect(target).toEqual({
      url: 'https://h.example/v1',
      authorization: BASIC,
      headers: { authorization: BASIC },
      secrets: matcher.arrayContaining([PASSWORD]),
    });
    expect(requestTarget('https://h.example/v1')).toEqual({ url: 'https://h.example/v1', headers: {}, secrets: [] });
  });

  it('no log line keeps it: the message, a field, an Error', () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const log = createLogger('info', {}, stream);
    const fields = { endpoint: withUserInfo('https://h.example/a'), nested: { list: [withUserInfo('http://h.example/b')] } };
    log.warn(fields, `calling ${withUserInfo('https://h.example/c')}`);
    log.error({ err: new Error(`failed: ${withUserInfo('https://h.example/d')}`) }, 'failed');
    expect(lines).toHaveLength(2);
    const text = lines.join('');
    expect(text).toContain('https://h.example/a');
    expect(text).toContain('http://h.example/b');
    expect(text).toContain('calling https://h.example/c');
    expect(text).toContain('failed: https://h.example/d');
    expect(text).not.toContain(encodeURIComponent(PASSWORD));
    expect(text).not.toContain(encodeURIComponent(USER));
  });

  describe('a provider base URL with user-info', () => {
    let database: TestDatabase;
    afterAll(async () => {
      await database?.drop();
    });

    it('is called with basic authentication, and stored nowhere with its user-info', async () => {
      database = await createTestDatabase();
      const db = await database.open();
      await initWarehouse(db);
      seen.length = 0;
      const outcome = await manualRun(db, 'open-er-api', { baseUrl: withUserInfo(origin) }, () => new Date('2024-01-09T06:00:00Z'));
      expect(outcome).toMatchObject({ status: 'loaded' });
      expect(seen.map((headers) => headers.authorization)).toEqual([BASIC]);
      const [bronze] = await db.query<{ request_url: string; authorization: string }>(
        `select request_url, request_headers->>'authorization' as authorization from bronze_extraction`,
      );
      expect(bronze).toEqual({ request_url: `${origin}/v6/latest/USD`, authorization: '***' });
      const [source] = await db.query<{ endpoint: string }>(`select endpoint from dim_source where source_name = 'open-er-api'`);
      expect(source!.endpoint).toBe(`${origin}/`);
      // No stored text anywhere holds the password, encoded or not.
      const [leaks] = await db.query<{ n: number }>(
        `select count(*)::int as n from (select to_jsonb(b)::text as t from bronze_extraction b
                                         union all select to_jsonb(s)::text from dim_source s
                                         union all select to_jsonb(r)::text from pipeline_runs r) rows
          where t like '%' || $1 || '%' or t like '%' || $2 || '%'`,
        [PASSWORD, encodeURIComponent(PASSWORD)],
      );
      expect(leaks!.n).toBe(0);
    });
  });

  it('fxpipe verify --url: the production endpoint gets basic authentication; a failure names the URL without it', async () => {
    seen.length = 0;
    const rates = await fetchProductionRates(withUserInfo(`${origin}/v6/latest/USD`), 'open-er-api');
    expect(rates.length).toBeGreaterThan(100);
    expect(seen.map((headers) => headers.authorization)).toEqual([BASIC]);
    const down = withUserInfo(`${await closedPortOrigin()}/v6/latest/USD`);
    const failure = await fetchProductionRates(down, 'open-er-api').then(
      () => null,
      (error: Error) => error.message,
    );
    expect(failure).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v6\/latest\/USD: no answer: ECONNREFUSED$/);
  });

  it('a webhook URL with user-info is delivered with basic authentication', async () => {
    seen.length = 0;
    expect(await postJson(withUserInfo(`${origin}/hook`), { kind: 'test' }, 2000)).toEqual({ delivered: true, attempts: 1 });
    expect(seen.map((headers) => headers.authorization)).toEqual([BASIC]);
  });
});
