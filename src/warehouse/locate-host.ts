import pg from 'pg';
import { hostPort, type PostgresHost, type PostgresUrl, type SessionAttrs } from './postgres-url.js';
import { SqlState } from './sqlstate.js';

/**
 * How libpq picks a host from a list (PostgreSQL 15, fe-connect.c: PQconnectPoll, CONNECTION_CHECK_TARGET; libpq docs,
 * "Specifying Multiple Hosts" and target_session_attrs), which node-postgres does not do:
 * - the hosts are tried in the order given; one that cannot be reached (refused, unresolvable, timed out after
 *   connect_timeout, which applies to each host on its own) or answers 57P03 "cannot connect now" is passed over;
 * - any other error the server reports while connecting (a wrong password, no such database) ends the search: the
 *   remaining hosts are not tried;
 * - once connected, the server's state is checked against target_session_attrs; a server in the wrong state is passed
 *   over (libpq's words: "session is read-only", "server is in hot standby mode", …);
 * - prefer-standby makes two passes: every host for a standby first, then, when none is one, every host again as `any`.
 */

/** What libpq reads of a server once connected: PostgreSQL 14+ report both at start-up (GUC_REPORT). */
export interface ServerState {
  /** default_transaction_read_only is on. */
  defaultReadOnly: boolean;
  /** in_hot_standby: the server is a standby, in recovery. */
  inHotStandby: boolean;
}

/** libpq's test of a connected server: whether attrs accepts it (secondPass: prefer-standby's second pass, as `any`). */
export function acceptable(attrs: SessionAttrs, state: ServerState, secondPass = false): boolean {
  const readOnly = state.defaultReadOnly || state.inHotStandby;
  switch (attrs) {
    case 'any':
      return true;
    case 'read-write':
      return !readOnly;
    case 'read-only':
      return readOnly;
    case 'primary':
      return !state.inHotStandby;
    case 'standby':
      return state.inHotStandby;
    case 'prefer-standby':
      return secondPass || state.inHotStandby;
  }
}

/** Why libpq passes over a server in the wrong state, in its own words. */
function rejection(attrs: SessionAttrs): string {
  if (attrs === 'read-write') return 'session is read-only';
  if (attrs === 'read-only') return 'session is not read-only';
  if (attrs === 'primary') return 'server is in hot standby mode';
  return 'server is not in hot standby mode';
}

/** Connects to host and (when state is needed) reads its state; throws what connecting threw. Closes what it opened. */
export type Probe = (host: PostgresHost, needState: boolean) => Promise<ServerState | null>;

export interface ChosenHost {
  host: PostgresHost;
  /** Its place in the list, from 0. */
  index: number;
  /** Null when target_session_attrs is `any`: libpq asks nothing of the server then. */
  state: ServerState | null;
}

/** One host passed over, and why. */
export interface PassedOver {
  host: PostgresHost;
  error: Error;
}

/** No host in the list would do: each one's reason is in `errors` (an AggregateError, so a connection failure among them is found). */
export class NoAcceptableHostError extends AggregateError {
  constructor(
    readonly url: PostgresUrl,
    readonly passedOver: PassedOver[],
  ) {
    // The last reason per host: prefer-standby's second pass meets each host again.
    const last = new Map(passedOver.map((p) => [hostPort(p.host), p.error.message.replace(/\s*\n\s*/g, ' ').trim()]));
    const reasons = [...last].map(([host, why]) => `${host}: ${why}`).join('; ');
    const what = url.sessionAttrs === 'any' ? 'no host could be reached' : `no host would do for target_session_attrs=${url.sessionAttrs}`;
    super(
      passedOver.map((p) => p.error),
      `${what}: ${reasons}`,
    );
    this.name = 'NoAcceptableHostError';
  }
}

/** A host reported an error that ends libpq's search (authentication, no such database): it is the cause. */
export class HostRefusedError extends Error {
  constructor(
    readonly host: PostgresHost,
    readonly index: number,
    cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = 'HostRefusedError';
  }
}

/**
 * Whether libpq goes on to the next host after this failure to connect: yes when no server answered, or it answered
 * 57P03 (cannot connect now: a standby still starting up); no for any other error a server reported while connecting
 * (authentication, no such database), nor when SSL was required and the server has none.
 */
export function triesNextHost(error: unknown): boolean {
  if (error instanceof pg.DatabaseError) return error.code === SqlState.cannot_connect_now;
  return !(error instanceof Error && /does not support SSL/.test(error.message));
}

/**
 * The host libpq would settle on for url: probe connects to each in turn (see above). A failure to connect passes the
 * host over (triesNextHost) or ends the search (HostRefusedError); NoAcceptableHostError when no host would do.
 */
export async function chooseHost(url: PostgresUrl, probe: Probe): Promise<ChosenHost> {
  const attrs = url.sessionAttrs;
  const needState = attrs !== 'any';
  const passedOver: PassedOver[] = [];
  for (const secondPass of attrs === 'prefer-standby' ? [false, true] : [false]) {
    for (const [index, host] of url.hosts.entries()) {
      let state: ServerState | null;
      try {
        state = await probe(host, needState);
      } catch (error) {
        if (!triesNextHost(error)) throw new HostRefusedError(host, index, error);
        passedOver.push({ host, error: error instanceof Error ? error : new Error(String(error)) });
        continue;
      }
      if (state === null || acceptable(attrs, state, secondPass)) return { host, index, state };
      passedOver.push({ host, error: new Error(rejection(attrs)) });
    }
  }
  throw new NoAcceptableHostError(url, passedOver);
}
