import pg from 'pg';
import type { Config } from '../config.js';
import { FxpipeError, usageError } from '../errors.js';
import type { Db, Driver, SessionDb } from './db.js';
import { connectDirect, type DirectDb } from './direct.js';
import { acceptable, chooseHost, HostRefusedError, NoAcceptableHostError, type ServerState } from './locate-host.js';
import { PooledDb } from './pooled.js';
import {
  describeHosts,
  hostPort,
  hostUrl,
  needsLocating,
  parsePostgresUrl,
  PostgresUrlError,
  type PostgresHost,
  type PostgresUrl,
} from './postgres-url.js';
import { StaleTargetError } from './reconnect.js';
import { clientSettings, type Target } from './target.js';

export { clientSettings, type Target } from './target.js';

const MIN_SERVER_VERSION = 140000;
/** How long a connection may take to open, per host (a URL's connect_timeout sets it for locating, as libpq reads it). */
const CONNECT_TIMEOUT_MS = 10_000;

/** DATABASE_URL when set (its host located: see locateUrl); otherwise the embedded server under FXPIPE_HOME, started if needed. */
export async function resolveTarget(config: Pick<Config, 'databaseUrl' | 'home' | 'embeddedPort'>): Promise<Target> {
  if (config.databaseUrl) return locateUrl(config.databaseUrl, 'DATABASE_URL');
  // Loaded only without DATABASE_URL: a command on the user's own server does not load the embedded server's modules.
  const { ensureEmbedded } = await import('../postgres/server/embedded.js');
  const server = await ensureEmbedded(config.home, config.embeddedPort === undefined ? {} : { port: config.embeddedPort });
  return { url: server.url, label: `embedded server ${server.host}:${server.port} in ${config.home}`, embedded: true, tls: server.tls };
}

/** Where the commands that only read (serve's GET routes, status, query, advise) read: FXPIPE_READ_DATABASE_URL, else resolveTarget's. */
export function resolveReadTarget(config: Pick<Config, 'readDatabaseUrl' | 'databaseUrl' | 'home' | 'embeddedPort'>): Promise<Target> {
  return config.readDatabaseUrl ? locateUrl(config.readDatabaseUrl, 'FXPIPE_READ_DATABASE_URL') : resolveTarget(config);
}

/**
 * The one host of a connection URL fxpipe connects to, as libpq would choose it (locate-host.ts): a URL with one host and
 * no target_session_attrs is used as it is, without connecting; otherwise each host is connected to in turn and the
 * chosen one becomes the target, its own URL. Called again after a connection to it failed (DatabaseLocator), it finds
 * the new primary after a failover, or the primary when the standby a reader used is gone.
 */
export async function locateUrl(text: string, setting: string): Promise<Target> {
  let url: PostgresUrl;
  try {
    url = parsePostgresUrl(text);
  } catch (error) {
    throw error instanceof PostgresUrlError ? usageError(`invalid setting ${setting}: ${error.message}`) : error;
  }
  if (!needsLocating(url)) return { url: text, label: `${describeHosts(url)} (${setting})`, embedded: false };
  try {
    const chosen = await chooseHost(url, (host, needState) => probeHost(url, host, needState));
    const of = url.hosts.length > 1 ? `host ${chosen.index + 1} of ${url.hosts.length}` : 'its one host';
    const role = chosen.state === null ? '' : chosen.state.inHotStandby ? ', a standby' : ', a primary';
    const label = `${hostPort(chosen.host)}${url.path} (${setting}, ${of}${role})`;
    const check = url.sessionAttrs === 'any' ? {} : { sessionAttrs: url.sessionAttrs };
    return { url: hostUrl(url, chosen.host), label, embedded: false, ...check };
  } catch (error) {
    if (error instanceof HostRefusedError) throw connectError({ label: `${hostPort(error.host)}${url.path} (${setting})` }, error.cause);
    if (error instanceof NoAcceptableHostError) throw connectError({ label: `${describeHosts(url)} (${setting})` }, error);
    throw error;
  }
}

/** A server's state as libpq reads it: the values PostgreSQL 14+ report at start-up (pg_is_in_recovery() before 14). */
const STATE_COLUMNS = `current_setting('default_transaction_read_only')::boolean as default_read_only,
                       coalesce(current_setting('in_hot_standby', true)::boolean, pg_catalog.pg_is_in_recovery()) as in_hot_standby`;

/** One connection to host, closed at once: its state when needState; throws what connecting threw. */
async function probeHost(url: PostgresUrl, host: PostgresHost, needState: boolean): Promise<ServerState | null> {
  const timeout = url.connectTimeoutMs === undefined ? CONNECT_TIMEOUT_MS : (url.connectTimeoutMs ?? 0);
  const client = new pg.Client({
    connectionString: hostUrl(url, host),
    connectionTimeoutMillis: timeout,
    application_name: 'fxpipe-locate',
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    if (!needState) return null;
    // libpq passes over a host whose state it cannot read ("SHOW transaction_read_only" failed): not a server's refusal.
    type StateRow = { default_read_only: boolean; in_hot_standby: boolean };
    const { rows } = await client.query<StateRow>(`select ${STATE_COLUMNS}`).catch((error: unknown) => {
      throw new Error(`reading its state failed: ${(error as Error).message}`, { cause: error });
    });
    return { defaultReadOnly: rows[0]!.default_read_only, inHotStandby: rows[0]!.in_hot_standby };
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface OpenOptions {
  applicationName?: string;
  /**
   * A connection that fails while idle, or under a query (the server restarted, a network drop): node-postgres emits it
   * as an 'error' event, which must be listened to. The failing query itself still rejects with it.
   */
  onConnectionError?: (error: Error) => void;
}

export interface PoolOptions extends OpenOptions {
  poolSize?: number;
}

/** The direct path: one connection, checked to be PostgreSQL 14 or newer. Bulk commands (COPY) take this. */
export async function openDirect(target: Target, options: OpenOptions = {}): Promise<DirectDb> {
  const db = await connectDirect(connectionSettings(target, options), options.onConnectionError).catch((error: unknown) => {
    throw connectError(target, error);
  });
  return checkServer(db, target);
}

/** The pooled path: a pg.Pool for concurrent readers (serve), checked like the direct one. */
export async function openPooled(target: Target, options: PoolOptions = {}): Promise<PooledDb> {
  const pool = new pg.Pool({ ...connectionSettings(target, options), max: options.poolSize ?? 10 });
  const onError = options.onConnectionError ?? (() => undefined);
  pool.on('error', onError);
  // The pool listens for errors of idle clients only: a connection lost while checked out (the server
  // stopped mid-query) must fail that query, not crash the process with an unhandled 'error' event.
  pool.on('connect', (client) => client.on('error', onError));
  return checkServer(new PooledDb(pool, onError), target);
}

/** The access path driver names (`db init --driver`, FXPIPE_DRIVER). */
export function openDb(target: Target, options: PoolOptions & { driver?: Driver } = {}): Promise<SessionDb> {
  return (options.driver ?? 'direct') === 'direct' ? openDirect(target, options) : openPooled(target, options);
}

function connectionSettings(target: Target, options: OpenOptions): pg.ClientConfig {
  return { ...clientSettings(target), connectionTimeoutMillis: CONNECT_TIMEOUT_MS, application_name: options.applicationName ?? 'fxpipe' };
}

async function checkServer<D extends Db>(db: D, target: Target): Promise<D> {
  try {
    const attrs = target.sessionAttrs;
    type ServerRow = { v: string; default_read_only?: boolean; in_hot_standby?: boolean };
    const [row] = attrs
      ? await db.query<ServerRow>(`select current_setting('server_version_num') as v, ${STATE_COLUMNS}`)
      : await db.query<ServerRow>('select current_setting($1) as v', ['server_version_num']);
    if (Number(row?.v) < MIN_SERVER_VERSION) {
      throw usageError(`${target.label} runs PostgreSQL ${row?.v}; fxpipe needs 14 or newer`);
    }
    // A host located earlier may have changed since (a primary back as a standby after a failover): locate anew.
    // prefer-standby takes whatever it found (its second pass): a standby back later is used from its next locating.
    const state = { defaultReadOnly: row?.default_read_only === true, inHotStandby: row?.in_hot_standby === true };
    if (attrs && !acceptable(attrs, state, true)) {
      throw new StaleTargetError(`${target.label} is no longer acceptable for target_session_attrs=${attrs}`);
    }
  } catch (error) {
    await db.close().catch(() => undefined);
    const shown = error instanceof StaleTargetError || error instanceof FxpipeError;
    throw shown ? error : connectError(target, error);
  }
  return db;
}

function connectError(target: Pick<Target, 'label'>, error: unknown) {
  const err = error as NodeJS.ErrnoException & { message?: string };
  const reason = err.code && !err.message?.includes(err.code) ? `${err.code} ${err.message}` : (err.message ?? String(error));
  return usageError(`cannot connect to PostgreSQL at ${target.label}: ${reason.trim() || 'connection failed'}`, error);
}
