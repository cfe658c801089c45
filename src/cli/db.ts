import { Command, Option } from 'commander';
import { usageError } from '../errors.js';
import { databaseTarget } from '../warehouse/databases.js';
import { initWarehouse } from '../warehouse/init.js';
import { setMaxRateAge } from '../warehouse/publications.js';
import { maintainPartitions } from '../warehouse/maintain.js';
import { ensureEmbedded, readRunning, stopEmbedded, embeddedPaths } from '../warehouse/server/embedded.js';
import type { CommandContext } from './context.js';
import { exposureWarning, startListening } from './db-listen.js';
import { grantReaderCommand, revokeReaderCommand } from './db-readers.js';
import { parseWholeNumberFlag } from './flags.js';
import { printJson } from './output.js';

type MakeContext = () => CommandContext;

export function dbCommand(context: MakeContext): Command {
  const db = new Command('db').description('manage the warehouse database: schema, embedded server, connection string');

  db.command('init')
    .description('apply pending schema migrations and ensure this month\'s and the next 3 history partitions')
    .addOption(new Option('--driver <driver>', 'access path that applies the migrations').choices(['direct', 'pooled']))
    .option('--json', 'print the result as one JSON object')
    .action(async (options: { driver?: 'direct' | 'pooled'; json?: boolean }) => {
      const ctx = context();
      const driver = options.driver ?? ctx.config.driver;
      const result = await ctx.withDb(async (conn) => {
        const applied = await initWarehouse(conn);
        await setMaxRateAge(conn, ctx.config.maxRateAge);
        return applied;
      }, { driver });
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
    .option('--listen <address>', 'also accept password (scram-sha-256) connections on this IP address of the machine, 0.0.0.0 or * (every address), and print the fields of a Make.com connection')
    .option('--port <n>', 'the port to start on, kept from then on (default FXPIPE_PORT, else the one it first started on, recorded in FXPIPE_HOME/port)')
    .action(async (options: { listen?: string; port?: string }) => {
      const ctx = context();
      if (ctx.config.databaseUrl) throw usageError('DATABASE_URL is set: fxpipe uses that server and starts none of its own');
      const port = options.port === undefined ? ctx.config.embeddedPort : parseWholeNumberFlag(options.port, '--port', 1, 65_535);
      const embedded = port === undefined ? {} : { port };
      const server = options.listen === undefined ? await ensureEmbedded(ctx.config.home, embedded) : await startListening(ctx, options.listen, embedded);
      if (port !== undefined && server.port !== port) {
        console.log(`The server was already running on port ${server.port}: \`fxpipe db stop\`, then start it again to move it to ${port}.`);
      }
      if (options.listen === undefined) {
        console.log(`PostgreSQL ${server.started ? 'started' : 'already running'} on ${server.host}:${server.port}, data in ${embeddedPaths(ctx.config.home).dataDir}`);
        console.log(`Connection string (psql or any PostgreSQL client):`);
        console.log(server.url);
        const warning = await exposureWarning(server);
        if (warning) console.log(warning);
      }
      // Listen before saying so: whoever reads the line may press Ctrl-C at once.
      const stopped = waitForSignalOrExit(ctx.config.home);
      console.log(server.started ? 'Press Ctrl-C to stop it.' : 'Press Ctrl-C to leave; the server keeps running (`fxpipe db stop` stops it).');
      await stopped;
      if (server.started && (await stopEmbedded(ctx.config.home))) console.log('Stopped.');
    });

  db.command('stop')
    .description('stop the embedded PostgreSQL (other commands start it again when they need it)')
    .action(async () => {
      const ctx = context();
      if (ctx.config.databaseUrl) throw usageError('DATABASE_URL is set: fxpipe runs no server of its own to stop');
      console.log((await stopEmbedded(ctx.config.home)) ? 'Stopped the embedded PostgreSQL.' : 'The embedded PostgreSQL is not running.');
    });

  db.addCommand(grantReaderCommand(context));
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
