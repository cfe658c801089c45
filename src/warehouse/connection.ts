import pg from 'pg';
import type { Config } from '../config.js';
import { usageError } from '../errors.js';
import { redactUrl } from '../util/secrets.js';
import type { Db, Driver } from './db.js';
import { connectDirect, type DirectDb } from './direct.js';
import { PooledDb } from './pooled.js';

const MIN_SERVER_VERSION = 140000;

export interface Target {
  url: string;
  /** Where the URL came from, for messages: never holds the password. */
  label: string;
  embedded: boolean;
  /** The embedded server speaks TLS: connect over it (see EmbeddedConnection.tls). A DATABASE_URL says so itself (sslmode). */
  tls?: boolean;
}

/** node-postgres's settings for target: its URL, and TLS where the embedded server speaks it. */
export function clientSettings(target: Pick<Target, 'url' | 'tls'>): pg.ClientConfig {
  return { connectionString: target.url, ...(target.tls ? { ssl: { rejectUnauthorized: false } } : {}) };
}

/** DATABASE_URL when set; otherwise the embedded server under FXPIPE_HOME, started if needed. */
export async function resolveTarget(config: Pick<Config, 'databaseUrl' | 'home' | 'embeddedPort'>): Promise<Target> {
  if (config.databaseUrl) {
    return { url: config.databaseUrl, label: `${hostOf(config.databaseUrl)} (DATABASE_URL)`, embedded: false };
  }
  // Loaded only without DATABASE_URL: a command on the user's own server does not load the embedded server's modules.
  const { ensureEmbedded } = await import('./server/embedded.js');
  const server = await ensureEmbedded(config.home, config.embeddedPort === undefined ? {} : { port: config.embeddedPort });
  return { url: server.url, label: `embedded server ${server.host}:${server.port} in ${config.home}`, embedded: true, tls: server.tls };
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
export function openDb(target: Target, options: PoolOptions & { driver?: Driver } = {}): Promise<Db> {
  return (options.driver ?? 'direct') === 'direct' ? openDirect(target, options) : openPooled(target, options);
}

function connectionSettings(target: Target, options: OpenOptions): pg.ClientConfig {
  return { ...clientSettings(target), connectionTimeoutMillis: 10_000, application_name: options.applicationName ?? 'fxpipe' };
}

async function checkServer<D extends Db>(db: D, target: Target): Promise<D> {
  try {
    const [row] = await db.query<{ v: string }>('select current_setting($1) as v', ['server_version_num']);
    if (Number(row?.v) < MIN_SERVER_VERSION) {
      throw usageError(`${target.label} runs PostgreSQL ${row?.v}; fxpipe needs 14 or newer`);
    }
  } catch (error) {
    await db.close().catch(() => undefined);
    throw error instanceof Error && error.name === 'FxpipeError' ? error : connectError(target, error);
  }
  return db;
}

function connectError(target: Target, error: unknown) {
  const err = error as NodeJS.ErrnoException & { message?: string };
  const reason = err.code && !err.message?.includes(err.code) ? `${err.code} ${err.message}` : err.message ?? String(error);
  return usageError(`cannot connect to PostgreSQL at ${target.label}: ${reason.trim() || 'connection failed'}`, error);
}

function hostOf(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '5432'}${parsed.pathname}`;
  } catch {
    return redactUrl(url);
  }
}
