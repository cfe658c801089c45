import { Command, Option } from 'commander';
import { usageError } from '../errors.js';
import { databaseTarget } from '../warehouse/databases.js';
import { initWarehouse } from '../warehouse/init.js';
import { maintainPartitions } from '../warehouse/maintain.js';
import { ensureEmbedded, readRunning, stopEmbedded, embeddedPaths } from '../postgres/server/embedded.js';
import type { CommandContext } from './context.js';
import { exposureWarning, startListening } from './db-listen.js';
import { moveEmbedded, renewCertificate } from '../postgres/server/listen.js';
import { tlsPaths, type GivenCertificate } from '../postgres/server/tls.js';
import { grantReaderCommand, revokeReaderCommand } from './db-readers.js';
import { watchReadersCommand } from './db-watchdog.js';
import { checkRemoteCommand } from './db-check-remote.js';
import { parseWholeNumberFlag } from './flags.js';
import { superviseEmbeddedWatchdog } from './supervise-watchdog.js';
import { printJson } from './output.js';
import { settingsCommand } from './db-settings.js';
import { noteSettingsFromEnvironment } from './settings-note.js';

type MakeContext = () => CommandContext;

export function dbCommand(context: MakeContext): Command {
  const db = new Command('db').description('manage the warehouse database: schema, embedded server, connection string');

  db.command('init')
    .description(
      "apply pending schema migrations and ensure this month's and the next 3 history partitions; a warehouse it creates takes FXPIPE_MAX_RATE_AGE as its max rate age (`db settings` changes it later)",
    )
    .addOption(new Option('--driver <driver>', 'access path that applies the migrations').choices(['direct', 'pooled']))
    .option('--json', 'print the result as one JSON object')
    .action(async (options: { driver?: 'direct' | 'pooled'; json?: boolean }) => {
      const ctx = context();
      const driver = options.driver ?? ctx.config.driver;
      const result = await ctx.withDb(
        async (conn) => {
          // A warehouse created now takes FXPIPE_MAX_RATE_AGE; one that exists keeps its own (`db settings` changes it).
          const applied = await initWarehouse(conn, new Date(), { maxRateAgeMs: ctx.config.maxRateAge });
          await noteSettingsFromEnvironment(conn, ctx.config, ctx.log);
          return applied;
        },
        { driver },
      );
      const target = await ctx.target();
      if (options.json) {
        printJson({ database: target.label, driver, ...result });
        return;
      }
      const total = result.applied.length + result.alreadyApplied.length;
      console.log(
        result.applied.length === 0
          ? `Nothing to do: all ${total} migrations already applied (${target.label}).`
          : `Applied ${result.applied.length} of ${total} migrations with the ${driver} driver: ${result.applied.join(', ')} (${target.label}).`,
      );
      if (result.partitionsCreated.length > 0) console.log(`Created partitions: ${result.partitionsCreated.join(', ')}.`);
    });

  db.addCommand(settingsCommand(context));

  db.command('maintain')
    .description("ensure this month's and the next 3 history partitions; move rows the default partition caught into proper partitions")
    .option('--json', 'print the result as one JSON object')
    .action(async (options: { json?: boolean }) => {
      const ctx = context();
      const result = await ctx.withDb(async (conn) => {
        await initWarehouse(conn);
        return maintainPartitions(conn);
      });
      if (options.json) {
        printJson(result);
        return;
      }
      console.log(
        result.upcomingCreated.length > 0
          ? `Created upcoming partitions: ${result.upcomingCreated.join(', ')}.`
          : "This month's and the next 3 partitions exist.",
      );
      if (result.foundInDefault.length === 0) {
        console.log('The default partition is empty.');
      } else {
        const found = result.foundInDefault.map((m) => `${m.month}: ${m.rows}`).join(', ');
        console.log(`The default partition held ${found}; moved ${result.movedRows} rows into ${result.createdForDefault.join(', ')}.`);
      }
    });

  db.command('start')
    .description('run the embedded PostgreSQL in the foreground and print its connection string (Ctrl-C stops it)')
    .option(
      '--listen <address>',
      'also accept connections on this IP address of the machine, 0.0.0.0 or * (every address), each over TLS and by password (scram-sha-256), and print the fields of a Make.com connection',
    )
    .option(
      '--port <n>',
      'the port to run on, kept from then on (default FXPIPE_PORT, else the one it first started on, recorded in FXPIPE_HOME/port); a server running on another port is restarted once there (with --listen, in the same restart)',
    )
    .option(
      '--tls-cert <file>',
      "with --listen: serve TLS with this PEM certificate (chain) instead of fxpipe's own self-signed one (default FXPIPE_TLS_CERT)",
    )
    .option('--tls-key <file>', "with --listen: the certificate's unencrypted PEM private key (default FXPIPE_TLS_KEY)")
    .option(
      '--tls-name <name...>',
      "with --listen: host names clients connect with, for fxpipe's own certificate (this machine's name and addresses are in it)",
    )
    .action(async (options: { listen?: string; port?: string } & TlsFlags) => {
      const ctx = context();
      if (ctx.config.databaseUrl) throw usageError('DATABASE_URL is set: fxpipe uses that server and starts none of its own');
      const port = options.port === undefined ? ctx.config.embeddedPort : parseWholeNumberFlag(options.port, '--port', 1, 65_535);
      const embedded = port === undefined ? {} : { port };
      const tls = tlsOptions(options, ctx);
      if (options.listen === undefined && (options.tlsCert ?? options.tlsKey ?? options.tlsName) !== undefined) {
        throw usageError('--tls-cert, --tls-key and --tls-name go with --listen (on loopback fxpipe uses its own certificate)');
      }
      const { connection: server, movedFrom } =
        options.listen === undefined
          ? port === undefined
            ? { connection: await ensureEmbedded(ctx.config.home) }
            : await moveEmbedded(ctx.config.home, port)
          : await startListening(ctx, options.listen, { ...embedded, ...tls });
      if (options.listen === undefined) {
        const state = movedFrom === undefined ? (server.started ? 'started' : 'already running') : 'restarted';
        const moved = movedFrom === undefined ? '' : ` (moved from port ${movedFrom} to ${server.port}; its open sessions were closed)`;
        console.log(`PostgreSQL ${state} on ${server.host}:${server.port}${moved}, data in ${embeddedPaths(ctx.config.home).dataDir}`);
        console.log(`Connection string (psql or any PostgreSQL client):`);
        console.log(server.url);
        const warning = await exposureWarning(server);
        if (warning) console.log(warning);
      }
      // Listen before saying so: whoever reads the line may press Ctrl-C at once.
      const stopped = waitForSignalOrExit(ctx.config.home);
      const stopSupervising = await superviseEmbeddedWatchdog(ctx);
      console.log(
        server.started ? 'Press Ctrl-C to stop it.' : 'Press Ctrl-C to leave; the server keeps running (`fxpipe db stop` stops it).',
      );
      await stopped;
      stopSupervising();
      if (server.started && (await stopEmbedded(ctx.config.home))) console.log('Stopped.');
    });

  db.command('stop')
    .description('stop the embedded PostgreSQL (other commands start it again when they need it)')
    .action(async () => {
      const ctx = context();
      if (ctx.config.databaseUrl) throw usageError('DATABASE_URL is set: fxpipe runs no server of its own to stop');
      console.log((await stopEmbedded(ctx.config.home)) ? 'Stopped the embedded PostgreSQL.' : 'The embedded PostgreSQL is not running.');
    });

  db.command('renew-cert')
    .description(
      "renew the embedded server's TLS certificate: fxpipe's own made anew, or a given one copied again from its files; a running server reloads it",
    )
    .option('--tls-cert <file>', 'use this PEM certificate (chain) from now on (default FXPIPE_TLS_CERT)')
    .option('--tls-key <file>', 'its unencrypted PEM private key (default FXPIPE_TLS_KEY)')
    .option('--tls-name <name...>', "more host names for fxpipe's own certificate")
    .option('--self-signed', "replace a given certificate by fxpipe's own")
    .option('--json', 'print the result as one JSON object')
    .action(async (options: TlsFlags & { selfSigned?: boolean; json?: boolean }) => {
      const ctx = context();
      if (ctx.config.databaseUrl) throw usageError("DATABASE_URL is set: that server's TLS is its own, fxpipe has no certificate to renew");
      const tls = tlsOptions(options, ctx, !options.selfSigned);
      if (options.selfSigned && tls.tls) throw usageError("--self-signed and --tls-cert/--tls-key are each other's opposite: give one");
      const { certificate, reloaded } = await renewCertificate(ctx.config.home, {
        ...tls,
        ...(options.selfSigned ? { selfSigned: true } : {}),
      });
      const file = tlsPaths(ctx.config.home).cert;
      if (options.json) {
        printJson({ file, ...certificate, validTo: certificate.validTo.toISOString(), reloaded });
        return;
      }
      console.log(
        `${certificate.given ? `Copied ${certificate.given.cert} to` : 'Generated a new self-signed certificate in'} ${file}, for ${certificate.names.join(', ')}, valid until ${certificate.validTo.toISOString().slice(0, 10)}.`,
      );
      console.log(`SHA-256 fingerprint ${certificate.fingerprint}`);
      console.log(reloaded ? 'The running server reloaded it: new connections use it.' : 'The server uses it from its next start.');
    });

  db.addCommand(grantReaderCommand(context));
  db.addCommand(watchReadersCommand(context));
  db.addCommand(checkRemoteCommand());
  db.addCommand(revokeReaderCommand(context));

  db.command('url')
    .description('print the connection string of the database fxpipe uses (starts the embedded server if needed)')
    .option('--database <name>', 'another database on the same server (e.g. fxpipe_demo)')
    .action(async (options: { database?: string }) => {
      const ctx = context();
      const target = await ctx.target();
      console.log(options.database ? databaseTarget(target, options.database).url : target.url);
    });

  return db;
}

interface TlsFlags {
  tlsCert?: string;
  tlsKey?: string;
  tlsName?: string[];
}

/** The certificate of --tls-cert/--tls-key (else FXPIPE_TLS_CERT/FXPIPE_TLS_KEY when useSettings), and --tls-name's names. */
function tlsOptions(flags: TlsFlags, ctx: CommandContext, useSettings = true): { tls?: GivenCertificate; tlsNames?: string[] } {
  const cert = flags.tlsCert ?? (useSettings ? ctx.config.tlsCert : undefined);
  const key = flags.tlsKey ?? (useSettings ? ctx.config.tlsKey : undefined);
  if ((cert === undefined) !== (key === undefined)) {
    throw usageError(
      cert === undefined
        ? 'a TLS key without its certificate: give --tls-cert (or FXPIPE_TLS_CERT) too'
        : 'a TLS certificate without its key: give --tls-key (or FXPIPE_TLS_KEY) too',
    );
  }
  const names = flags.tlsName?.map((name) => parseTlsName(name));
  return { ...(cert !== undefined && key !== undefined ? { tls: { cert, key } } : {}), ...(names ? { tlsNames: names } : {}) };
}

/** A host name or IP address for a certificate: letters, digits, dots, hyphens (and colons for IPv6). */
function parseTlsName(value: string): string {
  if (!/^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9.:-]*[A-Za-z0-9])?$/.test(value)) {
    throw usageError(`invalid --tls-name ${JSON.stringify(value)}: expected a host name (letters, digits, dots, hyphens) or an IP address`);
  }
  return value.toLowerCase();
}

/** Resolves on SIGINT/SIGTERM, or when the server goes away underneath (stopped from another terminal). */
function waitForSignalOrExit(home: string): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearInterval(timer);
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    const timer = setInterval(() => {
      void readRunning(embeddedPaths(home).dataDir).then((running) => {
        if (!running) done();
      });
    }, 1000);
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
}
