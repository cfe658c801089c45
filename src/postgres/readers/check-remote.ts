import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { oneLine } from '../../errors.js';
import type pg from 'pg';
import { connectDirect, type DirectDb } from '../../warehouse/direct.js';
import { readerLeaks } from './reader-leaks.js';
import { currentLimits, DEFAULT_READER_LIMITS, formatSize } from './reader-limits.js';
import { hasSqlState, SqlState } from '../../warehouse/sqlstate.js';

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
 * readable, no other database reachable (tried for real), and the reader's limits. Never throws for what it checks: each
 * finding is a Check.
 */
export async function checkRemote(server: RemoteServer): Promise<Check[]> {
  const checks: Check[] = [];
  const base: pg.ClientConfig = {
    host: server.host,
    port: server.port,
    database: server.database,
    user: server.user,
    password: server.password,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    application_name: 'fxpipe check-remote',
  };
  checks.push(await unencryptedRefused(base));

  const verified: ConnectionOptions = {
    servername: isIP(server.host) !== 0 ? undefined : server.host,
    ...(server.ca ? { ca: server.ca } : {}),
  };
  let db: DirectDb | undefined;
  let ssl: pg.ClientConfig['ssl'] = verified;
  try {
    db = await connectDirect({ ...base, ssl: verified });
    checks.push({
      name: 'certificate',
      ok: true,
      detail: `trusted for ${server.host} (${server.ca ? 'by the CA given' : "by this machine's CAs"})`,
    });
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
      ssl = { rejectUnauthorized: false };
      db = await connectDirect({ ...base, ssl });
    } catch (retry) {
      checks.push({ name: 'TLS login', ok: false, detail: `${server.user} cannot connect over TLS: ${messageOf(retry)}` });
      return checks;
    }
  }
  try {
    checks.push(await tlsInUse(db));
    checks.push(await convertAnswers(db));
    checks.push(await functionsListed(db));
    const leaks = await readerLeaks(db, server.user, { otherDatabases: false });
    checks.push({
      name: 'only api readable',
      ok: leaks.length === 0,
      detail: leaks.length === 0 ? `${server.user} reads schema api and nothing else` : `${server.user} can do more: ${leaks.join('; ')}`,
    });
    checks.push(await otherDatabases(db, { ...base, ssl }, server.user));
    checks.push(await limitsSet(db, server.user));
    checks.push(await tempFilesBounded(db, server.user));
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
    const refused = hasSqlState(error, SqlState.invalid_authorization_specification);
    return refused
      ? { name, ok: true, detail: `a login without TLS is refused (${reason})` }
      : { name, ok: false, detail: `cannot reach the server: ${reason}` };
  }
}

async function tlsInUse(db: DirectDb): Promise<Check> {
  const [row] = await db.query<{ ssl: boolean; version: string | null; cipher: string | null }>(
    'select ssl, version, cipher from pg_stat_ssl where pid = pg_backend_pid()',
  );
  const modern = row?.ssl === true && (row.version === 'TLSv1.2' || row.version === 'TLSv1.3');
  return {
    name: 'TLS',
    ok: modern,
    detail: row?.ssl ? `${row.version}, ${row.cipher} (pg_stat_ssl)` : 'this session is not encrypted (pg_stat_ssl)',
  };
}

async function convertAnswers(db: DirectDb): Promise<Check> {
  try {
    const [row] = await db.query<{ converted: string; rate: string }>(
      `select converted::text, rate::text from api.convert(100, 'USD', 'EUR')`,
    );
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
      group by r.routine_name order by r.routine_name`,
  );
  return rows.length > 0
    ? {
        name: 'functions listed',
        ok: true,
        detail: `information_schema shows ${rows.map((r) => `api.${r.routine} (${r.parameters} parameters)`).join(', ')}`,
      }
    : { name: 'functions listed', ok: false, detail: 'information_schema.routines shows no api function: Make.com could not list them' };
}

/**
 * Connects as the reader, for real, to every other database of the server that takes connections: one it reaches without
 * a grant by name (PUBLIC's CONNECT, which every new database has) is a way out of the api schema, where it could create
 * temporary tables or take advisory locks; and one it reaches by name (a reader of two fxpipe databases) must not give it TEMP.
 */
async function otherDatabases(db: DirectDb, settings: pg.ClientConfig, user: string): Promise<Check> {
  const name = 'other databases';
  const databases = await db.query<{ name: string; by_name: boolean }>(
    `select d.datname as name,
            exists (select 1 from aclexplode(d.datacl) a where a.grantee = (select oid from pg_roles where rolname = current_user)
                                                          and a.privilege_type = 'CONNECT') as by_name
       from pg_database d where d.datallowconn and d.datname <> current_database() order by 1`,
  );
  const open: string[] = [];
  const withTemp: string[] = [];
  const granted: string[] = [];
  for (const database of databases) {
    let other: DirectDb;
    try {
      other = await connectDirect({ ...settings, database: database.name });
    } catch {
      continue; // refused: no CONNECT (42501), or pg_hba.conf (28000)
    }
    try {
      const [row] = await other.query<{ temp: boolean }>(`select has_database_privilege(current_database(), 'TEMP') as temp`);
      (database.by_name ? granted : open).push(database.name);
      if (row?.temp) withTemp.push(database.name);
    } finally {
      await other.close();
    }
  }
  const tried = databases.length === 0 ? 'there is none' : `tried ${databases.map((d) => d.name).join(', ')}`;
  if (open.length === 0 && withTemp.length === 0) {
    return {
      name,
      ok: true,
      detail: `${user} connects to no other database (${tried})${granted.length > 0 ? `, but to ${granted.join(', ')}, where it is granted as a reader too` : ''}`,
    };
  }
  const tempOnly = withTemp.filter((d) => !open.includes(d)).join(', ');
  const problems = [
    ...(open.length > 0
      ? [
          `${user} connects to ${open.join(', ')} (fix, as their owner: revoke connect, temporary on database ${open.join(', ')} from public)`,
        ]
      : []),
    ...(tempOnly
      ? [
          `${user} can create temporary tables in ${tempOnly} (fix, as their owner: revoke temporary on database ${tempOnly} from public, ${user})`,
        ]
      : []),
  ];
  return { name, ok: false, detail: problems.join('; ') };
}

/** temp_file_limit as the reader's session has it: set on the role by grant-reader when fxpipe's role may (a superuser-only setting). */
async function tempFilesBounded(db: DirectDb, user: string): Promise<Check> {
  const name = 'temp file limit';
  const [row] = await db.query<{ limit: string }>(`select current_setting('temp_file_limit') as limit`);
  if (row?.limit === '-1') {
    const wanted = formatSize((await currentLimits(db, user))?.tempFileLimitKb ?? DEFAULT_READER_LIMITS.tempFileLimitKb).replace(' ', '');
    return {
      name,
      ok: null,
      detail: `${user}'s temporary files are not bounded (temp_file_limit -1): a superuser runs: alter role ${user} set temp_file_limit = '${wanted}'`,
    };
  }
  return {
    name,
    ok: true,
    detail: `temporary files up to ${row?.limit} a session (temp_file_limit: a superuser-only setting the reader cannot lift)`,
  };
}

async function limitsSet(db: DirectDb, user: string): Promise<Check> {
  const limits = await currentLimits(db, user);
  const [row] = await db.query<{ connlimit: number }>('select rolconnlimit as connlimit from pg_roles where rolname = current_user');
  if (!limits)
    return {
      name: 'limits',
      ok: null,
      detail: `${user} has no fxpipe limits (made by an older grant-reader, or not a reader): run fxpipe db grant-reader ${user} again`,
    };
  return {
    name: 'limits',
    ok: true,
    detail:
      `queries up to ${limits.statementTimeoutMs / 1000} s, idle in a transaction up to ${limits.idleInTransactionTimeoutMs / 1000} s, ${row?.connlimit} connections at once, ` +
      `memory up to ${formatSize(limits.memoryLimitKb)} a session (measured only by the embedded server's watchdog)`,
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
