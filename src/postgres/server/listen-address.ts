import net from 'node:net';
import { usageError } from '../../errors.js';
import { localAddresses } from './local-addresses.js';

const WILDCARDS = ['*', '0.0.0.0', '::'];

/** True for a --listen value that means every address (of a family). */
export const isWildcard = (address: string): boolean => WILDCARDS.includes(address);

/**
 * A --listen value: `*` (every address), 0.0.0.0 (every IPv4 address), :: (every IPv6 address), or
 * one IP address of this machine (on Linux any of 127.0.0.0/8, which it answers on loopback). Anything else is
 * refused before it reaches pg_ctl (whose -o options pass through a shell).
 */
export function parseListenAddress(value: string): string {
  const isIp = /^[0-9A-Fa-f:.]+$/.test(value) && net.isIP(value) !== 0;
  if (value !== '*' && !isIp) {
    throw usageError(
      `invalid --listen ${JSON.stringify(value)}: expected an IP address of this machine, 0.0.0.0 (every IPv4 address), :: or * (every address)`,
    );
  }
  if (
    !WILDCARDS.includes(value) &&
    !localAddresses().includes(value) &&
    !(process.platform === 'linux' && net.isIPv4(value) && value.startsWith('127.'))
  ) {
    throw usageError(`invalid --listen ${value}: not an address of this machine (it has ${localAddresses().join(', ')})`);
  }
  return value;
}

/** PostgreSQL's listen_addresses for a --listen address: loopback stays, so fxpipe's own commands keep connecting on 127.0.0.1. */
export function listenAddressesFor(address: string): string {
  return address === '*' || address === '0.0.0.0' || address === '127.0.0.1' ? address : `127.0.0.1,${address}`;
}
