import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { acceptable, chooseHost, HostRefusedError, NoAcceptableHostError, type ServerState } from '../../src/warehouse/locate-host.js';
import {
  describeHosts,
  hostUrl,
  needsLocating,
  parsePostgresUrl,
  PostgresUrlError,
  SESSION_ATTRS,
  type SessionAttrs,
} from '../../src/warehouse/postgres-url.js';

// The rules these tests hold fxpipe to are libpq's (PostgreSQL docs, "Connection Strings", "Parameter Key Words";
// fe-connect.c). test/operations/standby.e2e.test.ts checks the same choices against psql (libpq itself) on real servers.

const hostsOf = (url: string) => parsePostgresUrl(url).hosts.map(({ host, port }) => `${host}|${port}`);

describe('connection URIs as libpq reads them', () => {
  it('lists host:port pairs in the authority, a host without a port on 5432, an IPv6 address in brackets', () => {
    expect(hostsOf('postgres://u:pw@h1:5432,h2:5433/db')).toEqual(['h1|5432', 'h2|5433']);
    expect(hostsOf('postgresql://h1,h2:6000,[::1],[2001:db8::7]:5439/db')).toEqual(['h1|5432', 'h2|6000', '::1|5432', '2001:db8::7|5439']);
    expect(hostsOf('POSTGRES://db.internal')).toEqual(['db.internal|5432']);
  });

  it('takes ?host= and ?port= over the authority: one port for every host, or one per host', () => {
    expect(hostsOf('postgres:///db?host=h1,h2&port=5433')).toEqual(['h1|5433', 'h2|5433']);
    expect(hostsOf('postgres://ignored/db?host=h1,h2&port=5433,5434')).toEqual(['h1|5433', 'h2|5434']);
    expect(hostsOf('postgres://h1:1,h2:2/db?port=7000')).toEqual(['h1|7000', 'h2|7000']);
    expect(hostsOf('postgres:///db?host=%3A%3A1')).toEqual(['::1|5432']);
  });

  it("keeps the user-info, the database and the other parameters as written in each host's own URL", () => {
    const url = parsePostgresUrl(
      'postgres://fx%40ops:p%40ss%2Fw@h1:5432,[::1]:5433/my%20db' +
        '?sslmode=require&target_session_attrs=read-write&application_name=x&connect_timeout=3',
    );
    expect(url.userInfo).toBe('fx%40ops:p%40ss%2Fw');
    expect(url.sessionAttrs).toBe('read-write');
    expect(url.connectTimeoutMs).toBe(3000);
    expect(hostUrl(url, url.hosts[1]!)).toBe('postgres://fx%40ops:p%40ss%2Fw@[::1]:5433/my%20db?sslmode=require&application_name=x');
    // What node-postgres reads of it is that one host, the same user, password and database.
    const read = new URL(hostUrl(url, url.hosts[0]!));
    expect([read.hostname, read.port, decodeURIComponent(read.username), decodeURIComponent(read.password), read.pathname]).toEqual([
      'h1',
      '5432',
      'fx@ops',
      'p@ss/w',
      '/my%20db',
    ]);
    expect(describeHosts(url)).toBe('h1:5432,[::1]:5433/my%20db');
  });

  it('reads connect_timeout as libpq does: whole seconds per host, less than 2 as 2, 0 or less as none', () => {
    expect(parsePostgresUrl('postgres://h/db?connect_timeout=1').connectTimeoutMs).toBe(2000);
    expect(parsePostgresUrl('postgres://h/db?connect_timeout=0').connectTimeoutMs).toBeNull();
    expect(parsePostgresUrl('postgres://h/db?connect_timeout=-5').connectTimeoutMs).toBeNull();
    expect(parsePostgresUrl('postgres://h/db').connectTimeoutMs).toBeUndefined();
  });

  it('locates only when there is a choice or a state to check: one host with target_session_attrs any is used as it is', () => {
    expect(needsLocating(parsePostgresUrl('postgres://h/db'))).toBe(false);
    expect(needsLocating(parsePostgresUrl('postgres://h/db?target_session_attrs=any'))).toBe(false);
    expect(needsLocating(parsePostgresUrl('postgres://h/db?target_session_attrs=read-write'))).toBe(true);
    expect(needsLocating(parsePostgresUrl('postgres://h1,h2/db'))).toBe(true);
  });

  it('refuses what libpq refuses, saying what is wrong without quoting the user-info', () => {
    const problem = (url: string) => {
      try {
        parsePostgresUrl(url);
        return null;
      } catch (error) {
        expect(error).toBeInstanceOf(PostgresUrlError);
        return (error as Error).message;
      }
    };
    expect(problem('mysql://u:secret@h/db')).toBe('it does not start with postgres:// or postgresql://');
    expect(problem('postgres://u:secret@/db')).toBe('it names no host (postgres://host:port/database)');
    expect(problem('postgres://u:secret@h1,,h3/db')).toBe('host 2 is empty');
    expect(problem('postgres://u:secret@h1:5432,h2:99999/db')).toBe('the port of host 2 is not a port number (1 to 65535)');
    // A password written without its host would read as a port: it is not quoted.
    expect(problem('postgres://u:secret/db')).toBe('the port of the host is not a port number (1 to 65535)');
    expect(problem('postgres://u:secret@::1/db')).toBe('the host has more than one colon: an IPv6 address goes in brackets, [::1]:5432');
    expect(problem('postgres://u:secret@[::1/db')).toBe('the host opens an IPv6 address with [ but never closes it');
    expect(problem('postgres://u:secret@h1,h2/db?port=1,2,3')).toBe(
      'it gives 3 ports for 2 hosts (libpq: one port for all, or one per host)',
    );
    expect(problem('postgres://u:secret@h/db?target_session_attrs=master')).toBe(
      'target_session_attrs "master" is not one of any, read-write, read-only, primary, standby, prefer-standby',
    );
    expect(problem('postgres://u:secret@h/db?connect_timeout=soon')).toBe('connect_timeout "soon" is not a whole number of seconds');
  });
});

const PRIMARY: ServerState = { defaultReadOnly: false, inHotStandby: false };
const STANDBY: ServerState = { defaultReadOnly: true, inHotStandby: true };
/** A primary whose default_transaction_read_only is on: read-only to libpq, yet not a standby. */
const READ_ONLY_PRIMARY: ServerState = { defaultReadOnly: true, inHotStandby: false };

describe("libpq's test of a connected server (target_session_attrs)", () => {
  it('read-write and read-only look at the session; primary, standby and prefer-standby at hot standby only', () => {
    const states = [PRIMARY, STANDBY, READ_ONLY_PRIMARY];
    const table = Object.fromEntries(SESSION_ATTRS.map((attrs) => [attrs, states.map((state) => acceptable(attrs, state))]));
    expect(table).toEqual({
      any: [true, true, true],
      'read-write': [true, false, false],
      'read-only': [false, true, true],
      primary: [true, false, true],
      standby: [false, true, false],
      'prefer-standby': [false, true, false],
    });
    // prefer-standby's second pass accepts anything, as `any`.
    expect(states.map((state) => acceptable('prefer-standby', state, true))).toEqual([true, true, true]);
  });
});

/** How each host answers a connection: its state, or the error connecting throws. */
type Outcome = ServerState | Error;
const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
const serverError = (code: string, message: string) => Object.assign(new pg.DatabaseError(message, 0, 'error'), { code });

/** Chooses among hosts h1…hn answering as outcomes say; what it chose (or its error) and the hosts it contacted, in order. */
async function choose(attrs: SessionAttrs, outcomes: Outcome[]) {
  const url = parsePostgresUrl(`postgres://u:pw@${outcomes.map((_, i) => `h${i + 1}`).join(',')}/db?target_session_attrs=${attrs}`);
  const contacted: string[] = [];
  try {
    const chosen = await chooseHost(url, async (host, needState) => {
      contacted.push(host.host);
      const outcome = outcomes[Number(host.host.slice(1)) - 1]!;
      if (outcome instanceof Error) throw outcome;
      return needState ? outcome : null;
    });
    return { chosen: chosen.host.host, contacted };
  } catch (error) {
    return { error, contacted };
  }
}

describe('choosing a host as libpq does', () => {
  it('tries the hosts in order and takes the first acceptable one, passing over those that cannot be reached', async () => {
    expect(await choose('any', [refused(), STANDBY, PRIMARY])).toEqual({ chosen: 'h2', contacted: ['h1', 'h2'] });
    expect(await choose('read-write', [STANDBY, refused(), PRIMARY])).toEqual({ chosen: 'h3', contacted: ['h1', 'h2', 'h3'] });
    expect(await choose('read-write', [READ_ONLY_PRIMARY, PRIMARY])).toEqual({ chosen: 'h2', contacted: ['h1', 'h2'] });
    expect(await choose('primary', [READ_ONLY_PRIMARY, PRIMARY])).toEqual({ chosen: 'h1', contacted: ['h1'] });
    expect(await choose('standby', [PRIMARY, STANDBY])).toEqual({ chosen: 'h2', contacted: ['h1', 'h2'] });
    expect(await choose('read-only', [PRIMARY, READ_ONLY_PRIMARY])).toEqual({ chosen: 'h2', contacted: ['h1', 'h2'] });
  });

  it('prefer-standby: a standby anywhere in the list first; when there is none, a second pass from the first host as any', async () => {
    expect(await choose('prefer-standby', [PRIMARY, STANDBY])).toEqual({ chosen: 'h2', contacted: ['h1', 'h2'] });
    expect(await choose('prefer-standby', [PRIMARY, refused()])).toEqual({ chosen: 'h1', contacted: ['h1', 'h2', 'h1'] });
    expect(await choose('prefer-standby', [refused(), PRIMARY])).toEqual({ chosen: 'h2', contacted: ['h1', 'h2', 'h1', 'h2'] });
  });

  it('passes over a server that cannot take connections yet (57P03), but stops at any other error a server reports', async () => {
    const starting = serverError('57P03', 'the database system is starting up');
    expect(await choose('any', [starting, PRIMARY])).toEqual({ chosen: 'h2', contacted: ['h1', 'h2'] });
    const stopped = await choose('read-write', [refused(), serverError('28P01', 'password authentication failed for user "u"'), PRIMARY]);
    expect(stopped.contacted).toEqual(['h1', 'h2']);
    expect(stopped.error).toBeInstanceOf(HostRefusedError);
    expect((stopped.error as HostRefusedError).host.host).toBe('h2');
  });

  it("with no host acceptable, says why for each, in libpq's words, and keeps the connection failures as its errors", async () => {
    const none = await choose('read-write', [refused(), STANDBY]);
    expect(none.error).toBeInstanceOf(NoAcceptableHostError);
    expect((none.error as Error).message).toBe(
      'no host would do for target_session_attrs=read-write: ' + 'h1:5432: connect ECONNREFUSED 127.0.0.1:1; h2:5432: session is read-only',
    );
    const reasons = (none.error as AggregateError).errors.map((e: Error & { code?: string }) => e.code ?? e.message);
    expect(reasons).toEqual(['ECONNREFUSED', 'session is read-only']);
    const down = await choose('any', [refused(), refused()]);
    expect((down.error as Error).message).toBe(
      'no host could be reached: h1:5432: connect ECONNREFUSED 127.0.0.1:1; h2:5432: connect ECONNREFUSED 127.0.0.1:1',
    );
    expect((await choose('standby', [PRIMARY])).error).toMatchObject({
      message: 'no host would do for target_session_attrs=standby: h1:5432: server is not in hot standby mode',
    });
    expect((await choose('primary', [STANDBY])).error).toMatchObject({
      message: 'no host would do for target_session_attrs=primary: h1:5432: server is in hot standby mode',
    });
  });
});
