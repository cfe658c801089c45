import { networkInterfaces } from 'node:os';

/** Every IP address of this machine's network interfaces, loopback included. */
export function localAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flatMap((entries) => entries ?? [])
    .map((entry) => entry.address);
}

/**
 * The addresses a client on another machine (a Make.com on-premise agent, a tunnel) could use to reach
 * a server listening on address: for a wildcard, this machine's non-loopback addresses (IPv4 first;
 * link-local IPv6 left out, it needs a zone), else the address itself.
 */
export function reachableHosts(address: string): string[] {
  const external = Object.values(networkInterfaces())
    .flatMap((entries) => entries ?? [])
    .filter((entry) => !entry.internal && !entry.address.toLowerCase().startsWith('fe80:'));
  const v4 = external.filter((entry) => entry.family === 'IPv4').map((entry) => entry.address);
  const v6 = external.filter((entry) => entry.family === 'IPv6').map((entry) => entry.address);
  if (address === '0.0.0.0') return v4;
  if (address === '::') return v6;
  if (address === '*') return [...v4, ...v6];
  return [address];
}
