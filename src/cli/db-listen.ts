import { listenOn, currentListenAddresses, type ListenOptions } from '../postgres/server/listen.js';
import { parseListenAddress } from '../postgres/server/listen-address.js';
import { reachableHosts } from '../postgres/server/local-addresses.js';
import { embeddedPaths, type EmbeddedConnection } from '../postgres/server/embedded.js';
import { listReaders } from '../postgres/readers/reader-roles.js';
import { tlsPaths } from '../postgres/server/tls.js';
import type { CommandContext } from './context.js';

const SUGGESTED_READER = 'make_reader';

/** `db start --listen ADDRESS`: the embedded server reachable there, and the fields of a Make.com PostgreSQL connection. */
export async function startListening(
  ctx: CommandContext,
  value: string,
  options: ListenOptions = {},
): Promise<{ connection: EmbeddedConnection; movedFrom?: number }> {
  const address = parseListenAddress(value);
  const { connection, listenAddresses, restarted, movedFrom, certificate, generated } = await listenOn(ctx.config.home, address, options);
  const readers = await ctx.withDb((db) => listReaders(db));
  const moved = movedFrom === undefined ? '' : `, moved from port ${movedFrom} to ${connection.port}`;
  const state = connection.started ? 'started' : restarted ? `restarted (its open sessions were closed)${moved}` : 'already running';
  console.log(
    `PostgreSQL ${state}, listening on ${listenAddresses} port ${connection.port}, TLS (1.2 or newer) and a password (scram-sha-256) required for every TCP connection; data in ${embeddedPaths(ctx.config.home).dataDir}`,
  );
  const tls = tlsPaths(ctx.config.home);
  if (certificate.given) {
    console.log(
      `TLS certificate: ${certificate.given.cert} (copied to ${tls.cert}), for ${certificate.names.join(', ') || certificate.subject}, valid until ${certificate.validTo.toISOString().slice(0, 10)}`,
    );
  } else {
    console.log(
      `TLS certificate: fxpipe's own, self-signed${generated ? `, generated now (${generated})` : ''}: ${tls.cert}, for ${certificate.names.join(', ')}, valid until ${certificate.validTo.toISOString().slice(0, 10)}`,
    );
    console.log(`  SHA-256 fingerprint ${certificate.fingerprint}`);
    console.log(`  renew it: fxpipe db renew-cert   (or use a CA's certificate: --tls-cert FILE --tls-key FILE)`);
  }
  const hosts = reachableHosts(address);
  const fields: [string, string][] = [
    [
      'Host',
      hosts.length > 0
        ? `${hosts.join(' or ')} (this machine), or the address of your tunnel or agent`
        : "this machine's address as the Make.com agent or your tunnel reaches it (it has no non-loopback address)",
    ],
    [
      'Port',
      `${connection.port} (kept across stops and starts: recorded in ${embeddedPaths(ctx.config.home).portFile}; --port N or FXPIPE_PORT moves it)`,
    ],
    ['Database name', connection.database],
    [
      'User name',
      readers.length > 0
        ? `${readers[0]} (readers of this database: ${readers.join(', ')})`
        : `${SUGGESTED_READER} — create it first: fxpipe db grant-reader ${SUGGESTED_READER}`,
    ],
    [
      'Password',
      "the reader's: printed once by grant-reader, or the first line of the --password-file you gave it (fxpipe db url shows the owner's; do not give Make.com the owner)",
    ],
    [
      'Encrypt',
      certificate.given
        ? 'Yes (TLS; the certificate given)'
        : `Yes (TLS; the certificate is self-signed: a client that verifies certificates needs ${tls.cert} as its trusted root, or give a CA's with --tls-cert/--tls-key)`,
    ],
  ];
  console.log('Make.com PostgreSQL connection:');
  for (const [name, value] of fields) console.log(`  ${name.padEnd(15)}${value}`);
  return { connection, ...(movedFrom === undefined ? {} : { movedFrom }) };
}

/** A warning for `db start` without --listen when an earlier --listen left the server reachable beyond loopback. */
export async function exposureWarning(connection: EmbeddedConnection): Promise<string | undefined> {
  const listenAddresses = await currentListenAddresses(connection);
  if (listenAddresses === '127.0.0.1') return undefined;
  return `Note: it also listens on ${listenAddresses} (db start --listen); \`fxpipe db stop\` and start it again for loopback only.`;
}
