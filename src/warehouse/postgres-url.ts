/**
 * PostgreSQL connection URIs as libpq reads them (PostgreSQL docs, libpq, "Connection Strings" and "Parameter Key
 * Words"), where node-postgres reads one host only: several `host:port` pairs separated by commas in the authority
 * (`postgres://u:pw@h1:5432,h2:5433/db`), or `?host=h1,h2&port=5432,5433`; an IPv6 address in brackets; a host
 * without a port on 5432; a Unix-domain socket directory percent-encoded (%2Fvar%2Frun%2Fpostgresql);
 * `target_session_attrs` saying which host is acceptable; `connect_timeout` per host.
 * node-postgres then connects to the one host fxpipe chose (locate-host.ts), through hostUrl.
 */

/** libpq's target_session_attrs values (PostgreSQL 14+): which server a connection may settle on. */
export const SESSION_ATTRS = ['any', 'read-write', 'read-only', 'primary', 'standby', 'prefer-standby'] as const;
export type SessionAttrs = (typeof SESSION_ATTRS)[number];

/** libpq's DEF_PGPORT. */
export const DEFAULT_PORT = 5432;

export interface PostgresHost {
  /** A host name or an IP address; an IPv6 address without its brackets. */
  host: string;
  port: number;
}

export interface PostgresUrl {
  /** `postgres` or `postgresql`, lower-case. */
  scheme: string;
  /** The user-info as written (percent-encoded), without its `@`; '' when there is none. Never shown. */
  userInfo: string;
  /** In the order they are tried. */
  hosts: PostgresHost[];
  /** The database path as written (`/db`), '' when there is none. */
  path: string;
  /** The query's other parameters, as written, in order (`sslmode=require`, `options=…`). */
  params: string[];
  sessionAttrs: SessionAttrs;
  /** connect_timeout in milliseconds, per host: libpq's seconds, 1 read as 2; null for "wait indefinitely" (0 or less). */
  connectTimeoutMs?: number | null;
}

/** What is wrong with a connection URI: never quotes its user-info. */
export class PostgresUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PostgresUrlError';
  }
}

const SCHEME = /^(postgres|postgresql):\/\//i;
/** The query keys fxpipe reads itself; the rest go to node-postgres as written. */
const HOST_KEYS = new Set(['host', 'port', 'target_session_attrs', 'connect_timeout']);

/** The URI read as libpq reads it; a PostgresUrlError saying what is wrong otherwise. */
export function parsePostgresUrl(text: string): PostgresUrl {
  const scheme = SCHEME.exec(text);
  if (!scheme) throw new PostgresUrlError('it does not start with postgres:// or postgresql://');
  const rest = text.slice(scheme[0].length);
  // The authority ends where the path, the query or a fragment starts (as in the WHATWG URL and secrets.ts's USER_INFO);
  // its user-info runs to its last @ (a password's own @ should be %40).
  const authorityEnd = rest.search(/[/?#]/);
  const authority = authorityEnd === -1 ? rest : rest.slice(0, authorityEnd);
  const afterAuthority = authorityEnd === -1 ? '' : rest.slice(authorityEnd);
  const at = authority.lastIndexOf('@');
  const userInfo = at === -1 ? '' : authority.slice(0, at);
  const hostList = at === -1 ? authority : authority.slice(at + 1);

  const hashAt = afterAuthority.indexOf('#');
  const beforeFragment = hashAt === -1 ? afterAuthority : afterAuthority.slice(0, hashAt);
  const queryAt = beforeFragment.indexOf('?');
  const path = queryAt === -1 ? beforeFragment : beforeFragment.slice(0, queryAt);
  const query = queryAt === -1 ? '' : beforeFragment.slice(queryAt + 1);

  const given = new Map<string, string>();
  const params: string[] = [];
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      throw new PostgresUrlError(`its query parameter ${JSON.stringify(decode(pair.slice(0, 40)))} has no value (expected key=value)`);
    }
    const key = decode(pair.slice(0, eq));
    if (HOST_KEYS.has(key)) given.set(key, decode(pair.slice(eq + 1)));
    else params.push(pair);
  }

  // Given in the query, host and port replace the authority's (libpq: a query parameter overrides the URI's part).
  const port = given.get('port');
  const hosts = given.has('host') ? hostsOfParameters(given.get('host')!, port) : hostsOfAuthority(hostList, port);
  const attrs = given.get('target_session_attrs') ?? 'any';
  if (!(SESSION_ATTRS as readonly string[]).includes(attrs)) {
    throw new PostgresUrlError(`target_session_attrs ${JSON.stringify(attrs.slice(0, 40))} is not one of ${SESSION_ATTRS.join(', ')}`);
  }
  const timeout = given.get('connect_timeout');
  return {
    scheme: scheme[1]!.toLowerCase(),
    userInfo,
    hosts,
    path,
    params,
    sessionAttrs: attrs as SessionAttrs,
    ...(timeout === undefined ? {} : { connectTimeoutMs: connectTimeoutMs(timeout) }),
  };
}

/** True when text is a connection URI fxpipe can use. */
export function isPostgresUrl(text: string): boolean {
  return postgresUrlProblem(text) === null;
}

/** What is wrong with text as a connection URI, or null. */
export function postgresUrlProblem(text: string): string | null {
  try {
    parsePostgresUrl(text);
    return null;
  } catch (error) {
    if (error instanceof PostgresUrlError) return error.message;
    throw error;
  }
}

/** A URL that settles on more than one host, or asks the host for a state: which one is used is found by connecting. */
export function needsLocating(url: PostgresUrl): boolean {
  return url.hosts.length > 1 || url.sessionAttrs !== 'any';
}

/** The URL of one of url's hosts, for node-postgres: the same user-info, database and other parameters. */
export function hostUrl(url: PostgresUrl, host: PostgresHost): string {
  const query = url.params.length ? `?${url.params.join('&')}` : '';
  return `${url.scheme}://${url.userInfo ? `${url.userInfo}@` : ''}${hostPort(host)}${url.path}${query}`;
}

/** host:port, an IPv6 address in brackets. */
export function hostPort(host: PostgresHost): string {
  return `${host.host.includes(':') ? `[${host.host}]` : encodeHost(host.host)}:${host.port}`;
}

/** The hosts and the database, for messages: `h1:5432,h2:5433/db`; never the user-info. */
export function describeHosts(url: PostgresUrl): string {
  return `${url.hosts.map(hostPort).join(',')}${url.path}`;
}

/** The authority's hosts: `h1:5432,[::1]:5433,h3`; port (the query's) given to every host that names none. */
function hostsOfAuthority(list: string, queryPort: string | undefined): PostgresHost[] {
  const entries = splitHosts(list);
  const ports = queryPort === undefined ? null : splitPorts(queryPort, entries.length);
  return entries.map((entry, i) => {
    const { host, port } = splitHostPort(entry, i, entries.length);
    return { host, port: parsePort(ports?.[i] ?? port, i, entries.length) };
  });
}

/** `?host=h1,h2&port=5432,5433`: one port for all hosts, or one per host (libpq's rule). */
function hostsOfParameters(hostParam: string, portParam: string | undefined): PostgresHost[] {
  const names = hostParam.split(',');
  const ports = portParam === undefined ? null : splitPorts(portParam, names.length);
  return names.map((name, i) => {
    const host = name.trim().replace(/^\[(.*)\]$/, '$1');
    if (host === '') throw new PostgresUrlError(emptyHost(i, names.length));
    return { host, port: parsePort(ports?.[i] ?? '', i, names.length) };
  });
}

/** The comma-separated entries of the authority's host list, brackets kept whole. */
function splitHosts(list: string): string[] {
  if (list === '') throw new PostgresUrlError('it names no host (postgres://host:port/database)');
  return list.split(',');
}

function splitPorts(portParam: string, hostCount: number): string[] {
  const ports = portParam.split(',');
  if (ports.length === 1) return Array.from({ length: hostCount }, () => ports[0]!);
  if (ports.length !== hostCount) {
    throw new PostgresUrlError(`it gives ${ports.length} ports for ${hostCount} hosts (libpq: one port for all, or one per host)`);
  }
  return ports;
}

function splitHostPort(entry: string, index: number, count: number): { host: string; port: string } {
  if (entry.startsWith('[')) {
    const close = entry.indexOf(']');
    if (close === -1) throw new PostgresUrlError(`${which(index, count)} opens an IPv6 address with [ but never closes it`);
    const after = entry.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) {
      throw new PostgresUrlError(`${which(index, count)} has text after its IPv6 address: expected [address]:port`);
    }
    const host = entry.slice(1, close);
    if (host === '') throw new PostgresUrlError(emptyHost(index, count));
    return { host, port: after.slice(1) };
  }
  const colon = entry.indexOf(':');
  if (colon !== entry.lastIndexOf(':')) {
    throw new PostgresUrlError(`${which(index, count)} has more than one colon: an IPv6 address goes in brackets, [::1]:5432`);
  }
  const host = decode(colon === -1 ? entry : entry.slice(0, colon));
  if (host === '') throw new PostgresUrlError(emptyHost(index, count));
  return { host, port: colon === -1 ? '' : entry.slice(colon + 1) };
}

function parsePort(text: string, index: number, count: number): number {
  if (text.trim() === '') return DEFAULT_PORT;
  const port = /^\d{1,5}$/.test(text.trim()) ? Number(text.trim()) : NaN;
  // Not quoted: a password written without its host (postgres://user:secret/db) would read as a port.
  if (!(port >= 1 && port <= 65_535)) throw new PostgresUrlError(`the port of ${which(index, count)} is not a port number (1 to 65535)`);
  return port;
}

/** libpq: whole seconds; 0 or less waits indefinitely; less than 2 is read as 2. */
function connectTimeoutMs(text: string): number | null {
  if (!/^\s*-?\d{1,9}\s*$/.test(text)) {
    throw new PostgresUrlError(`connect_timeout ${JSON.stringify(text.slice(0, 20))} is not a whole number of seconds`);
  }
  const seconds = Number(text);
  return seconds <= 0 ? null : Math.max(seconds, 2) * 1000;
}

const which = (index: number, count: number) => (count === 1 ? 'the host' : `host ${index + 1}`);
const emptyHost = (index: number, count: number) => `${which(index, count)} is empty`;

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new PostgresUrlError('it holds a % that does not start a percent-encoded character (%XX)');
  }
}

/** A host name as a URL authority holds it: what the WHATWG URL (node-postgres's parser) would refuse, percent-encoded. */
function encodeHost(host: string): string {
  return /^[A-Za-z0-9._~-]+$/.test(host) ? host : encodeURIComponent(host);
}
