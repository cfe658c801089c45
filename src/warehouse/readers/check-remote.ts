import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { oneLine } from '../../errors.js';
import type pg from 'pg';
import { connectDirect, type DirectDb } from '../direct.js';
import { readerLeaks } from './reader-leaks.js';
import { currentLimits } from './reader-limits.js';

export interface RemoteServer {
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
  /** PEM of the root to verify the server's certificate against (e.g. fxpipe's own, FXPIPE_HOME/tls/server.crt); else the system's CAs. */
  ca?: string;
}

export interface Check {
  name: string;
  /** true: as Make.com needs; false: not; null: a warning (Make.com may or may not mind). */
  ok: boolean | null;
  detail: string;
}

const CONNECT_TIMEOUT_MS = 10_000;

/**
 * What Make.com's PostgreSQL app will meet at server, checked from this machine as the reader: unencrypted logins
 * refused, TLS 1.2 or newer, the certificate trusted (a warning only without a CA given: whether Make.com verifies it is
 * not documented), the login, api.convert answering, the api functions listed in information_schema, nothing but api
 * readable, and the reader's limits. Never throws for what it checks: each finding is a Check.
 */
export async function checkRemote(server: RemoteServer): Promise<Check[]> {
  const checks: Check[] = [];
  const base: pg.ClientConfig = {
    host: server.host, port: server.port, database: server.database, user: server.user, password: server.password,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS, application_name: 'fxpipe check-remote',
  };
  checks.push(await unencryptedRefused(base));

  const verified: ConnectionOptions = { servername: isIP(server.host) !== 0 ? undefined : server.host, ...(server.ca ? { ca: server.ca } : {}) };
  let db: DirectDb | undefined;
  try {
    db = await connectDirect({ ...base, ssl: verified });
    checks.push({ name: 'certificate', ok: true, detail: `trusted for ${server.host} (${server.ca ? 'by the CA given' : "by this machine's CAs"})` });
  } catch (error) {
    const reason = messageOf(error);
    if (!isCertificateError(error)) {
      checks.push({ name: 'TLS login', ok: false, detail: `${server.user} cannot connect over TLS: ${reason}` });
      return checks;
    }
    checks.push({
      name: 'certificate',
      ok: server.ca ? false : null,
      detail: server.ca
        ? `not trusted by the CA given for ${server.host}: ${reason}`
        : `not trusted by this machine's CAs (${reason}): a Make.com connection that verifies certificates would refuse it; use a CA's certificate (db start --listen --tls-cert/--tls-key), or check fxpipe's own with --ca FXPIPE_HOME/tls/server.crt`,
    });
    try {
      db = await connectDirect({ ...base, ssl: { rejectUnauthorized: false } });
    } catch (retry) {
      checks.push({ name: 'TLS login', ok: false, detail: `${server.user} cannot connect over TLS: ${messageOf(retry)}` });
      return checks;
    }
  }
  try {
    checks.push(await tlsInUse(db));
    checks.push(await convertAnswers(db));
    checks.push(await functionsListed(db));
    const leaks = await readerLeaks(db, server.user);
    checks.push({ name: 'only api readable', ok: leaks.length === 0, detail: leaks.length === 0 ? `${server.user} reads schema api and nothing else` : `${server.user} can do more: ${leaks.join('; ')}` });
    checks.push(await limitsSet(db, server.user));
  } finally {
    await db.close();
  }
  return checks;
}

async function unencryptedRefused(base: pg.ClientConfig): Promise<Check> {
  const name = 'unencrypted refused';
  try {
    const db = await connectDirect({ ...base, ssl: false });
    await db.close();
    return { name, ok: false, detail: 'the server accepts this login without TLS: rows and queries would cross the network in clear text' };
  } catch (error) {
    const reason = messageOf(error);
    // 28000: pg_hba.conf rejected it (hostnossl … reject, or no line for an unencrypted connection).
    const refused = (error as { code?: string }).code === '28000';
    return refused ? { name, ok: true, detail: `a login without TLS is refused (${reason})` } : { name, ok: false, detail: `cannot reach the server: ${reason}` };
  }
}

async function tlsInUse(db: DirectDb): Promise<Check> {
  const [row] = await db.query<{ ssl: boolean; version: string | null; cipher: string | null }>(
    'select ssl, version, cipher from pg_stat_ssl where pid = pg_backend_pid()');
  const modern = row?.ssl === true && (row.version === 'TLSv1.2' || row.version === 'TLSv1.3');
  return { name: 'TLS', ok: modern, detail: row?.ssl ? `${row.version}, ${row.cipher} (pg_stat_ssl)` : 'this session is not encrypted (pg_stat_ssl)' };
}

async function convertAnswers(db: DirectDb): Promise<Check> {
  try {
    const [row] = await db.query<{ converted: string; rate: string }>(`select converted::text, rate::text from api.convert(100, 'USD', 'EUR')`);
    return { name: 'api.convert', ok: true, detail: `api.convert(100, 'USD', 'EUR') = ${row?.converted} (rate ${row?.rate})` };
  } catch (error) {
    return { name: 'api.convert', ok: false, detail: `api.convert(100, 'USD', 'EUR') failed: ${messageOf(error)}` };
  }
}

async function functionsListed(db: DirectDb): Promise<Check> {
  const rows = await db.query<{ routine: string; parameters: number }>(
    `select r.routine_name as routine, count(p.parameter_name)::int as parameters
       from information_schema.routines r
       left join information_schema.parameters p on p.specific_schema = r.specific_schema and p.specific_name = r.specific_name
      where r.routine_schema = 'api'
      group by r.routine_name order by r.routine_name`);
  return rows.length > 0
    ? { name: 'functions listed', ok: true, detail: `information_schema shows ${rows.map((r) => `api.${r.routine} (${r.parameters} parameters)`).join(', ')}` }
    : { name: 'functions listed', ok: false, detail: 'information_schema.routines shows no api function: Make.com could not list them' };
}

async function limitsSet(db: DirectDb, user: string): Promise<Check> {
  const limits = await currentLimits(db, user);
  const [row] = await db.query<{ connlimit: number }>('select rolconnlimit as connlimit from pg_roles where rolname = current_user');
  if (!limits) return { name: 'limits', ok: null, detail: `${user} has no fxpipe limits (made by an older grant-reader, or not a reader): run fxpipe db grant-reader ${user} again` };
  return {
    name: 'limits',
    ok: true,
    detail: `queries up to ${limits.statementTimeoutMs / 1000} s, idle in a transaction up to ${limits.idleInTransactionTimeoutMs / 1000} s, ${row?.connlimit} connections at once`,
  };
}

function isCertificateError(error: unknown): boolean {
  const code = (error as { code?: string }).code ?? '';
  return /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS_CERT_ALTNAME_INVALID|HOSTNAME/.test(code);
}

/** The error in one line, with the TLS or SQLSTATE code when its message does not name it. */
function messageOf(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const text = oneLine(error);
  return typeof code === 'string' && !text.includes(code) ? `${text} (${code})` : text;
}
