import { once } from 'node:events';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Command } from 'commander';
import { FxpipeError, oneLine } from '../errors.js';
import { withoutUserInfo } from '../util/secrets.js';
import { createApp } from '../serve/app.js';
import { verifyPlaces } from '../serve/data/verify.js';
import { openDb, type Target } from '../warehouse/connection.js';
import { ReconnectingDb } from '../warehouse/reconnect.js';
import { parseListenAddress } from '../postgres/server/listen-address.js';
import type { CommandContext } from './context.js';
import { parseWholeNumberFlag } from './flags.js';
import { superviseEmbeddedWatchdog } from './supervise-watchdog.js';

const LOOPBACK = ['127.0.0.1', '::1'];

export function serveCommand(context: () => CommandContext): Command {
  return new Command('serve')
    .description(
      "serve the dashboard, the JSON API (/api/v1/…, /healthz, /metrics) and the providers' formats as a backup, over the pooled access path; Ctrl-C stops it",
    )
    .option('--port <n>', 'TCP port (0: any free one, printed)', '8080')
    .option(
      '--listen <address>',
      'IP address to listen on: 127.0.0.1, an address of this machine, 0.0.0.0, :: or * (every address)',
      '127.0.0.1',
    )
    .option('--pool <n>', 'database connections in the pool', '10')
    .addHelpText(
      'after',
      "\nFXPIPE_API_TOKEN (16+ characters) makes every route but /healthz require it: Authorization: Bearer <token>, or the dashboard's sign-in form.\n" +
        'As a backup for the providers, in their own formats (docs/backup.md): /frankfurter/v1/, /openexchangerates/api/ (and /api/latest.json, …),\n' +
        '/exchangerate-api/v6/{key}/, /open-er-api/v6/, /fixer/; each takes the token where its provider carries its key.\n' +
        'FXPIPE_READ_DATABASE_URL (e.g. every host with target_session_attrs=prefer-standby) takes the reads to a standby;\n' +
        'POST /api/v1/verify writes through DATABASE_URL (docs/backup.md, "Keeping the backup up").',
    )
    .action(async (flags: { port: string; listen: string; pool: string }) => {
      const port = parseWholeNumberFlag(flags.port, '--port', 0, 65_535);
      const poolSize = parseWholeNumberFlag(flags.pool, '--pool', 1, 500);
      const address = parseListenAddress(flags.listen);
      const ctx = context();
      // The pool is re-created at the target located anew after a connection failure: serve outlives a
      // restart of the database (the embedded server comes back on another port, or is started again here).
      const openPool = (size: number, applicationName: string) => (at: Target) =>
        openDb(at, {
          driver: 'pooled',
          poolSize: size,
          applicationName,
          onConnectionError: (error) => ctx.log.warn({ err: oneLine(error) }, 'PostgreSQL connection failed'),
        });
      const open = openPool(poolSize, 'fxpipe-serve');
      // Reads go where FXPIPE_READ_DATABASE_URL says (a standby), else where DATABASE_URL or the embedded server is.
      // A backup starts even while the database is down: it answers the last good answers kept on disk meanwhile.
      const db = await ReconnectingDb.connect('pooled', ctx.readLocator, open).catch((error: unknown) => {
        ctx.log.error({ err: oneLine(error) }, 'the database cannot be reached: serving the last good answers until it answers');
        return ReconnectingDb.later('pooled', ctx.readLocator, open);
      });
      const places = verifyPlaces(poolSize);
      // With a read URL, what writes (POST /api/v1/verify and its alert) goes to DATABASE_URL's host that accepts writes,
      // connected when first needed: serve starts, and reads, while the primary is down.
      const writeDb =
        ctx.readLocator === ctx.locator
          ? db
          : ReconnectingDb.later('pooled', ctx.locator, openPool(Math.max(1, places), 'fxpipe-serve-write'));
      const target = await ctx.readLocator.current().catch(() => null);
      const stopSupervising = await superviseEmbeddedWatchdog(ctx);
      const token = ctx.config.apiToken;
      if (!token && !LOOPBACK.includes(address))
        ctx.log.warn(`listening on ${address} without FXPIPE_API_TOKEN: anyone who reaches it can read the warehouse`);
      const app = createApp({
        db,
        ...(writeDb === db ? {} : { writeDb }),
        sources: ctx.config.sources,
        token,
        cacheDir: path.join(ctx.config.home, 'cache'),
        log: ctx.log,
        verify: {
          tolerancePct: String(ctx.config.productionTolerancePct),
          timeoutMs: ctx.config.verifyTimeoutMs,
          maxRows: ctx.config.verifyMaxRows,
          alerts: ctx.config,
          places,
        },
        lastGoodDir: ctx.config.lastGoodDir ?? path.join(ctx.config.home, 'last-good'),
        lastGoodScope: ctx.config.databaseUrl ? withoutUserInfo(ctx.config.databaseUrl) : 'embedded',
        databaseWaitMs: ctx.config.serveDatabaseTimeoutMs,
        corsOrigins: ctx.config.corsOrigins,
      });
      const server = serve({ fetch: app.fetch, port, hostname: address === '*' ? '::' : address });
      try {
        await Promise.race([
          once(server, 'listening'),
          once(server, 'error').then(([error]: unknown[]) => {
            throw error instanceof Error ? error : new Error(String(error));
          }),
        ]);
      } catch (error) {
        await Promise.all([db.close(), writeDb === db ? null : writeDb.close()]);
        const code = (error as { code?: string }).code;
        throw new FxpipeError(
          code === 'EADDRINUSE'
            ? `port ${port} on ${address} is already in use: choose another with --port`
            : `cannot listen on ${address}:${port}: ${(error as Error).message}`,
        );
      }
      const bound = server.address() as AddressInfo;
      const writes = writeDb === db ? '' : '; writes through DATABASE_URL';
      const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
      console.log(
        `fxpipe serve: http://${host}:${bound.port}/ (dashboard), /api/v1/…, /healthz, /metrics; database ${target?.label ?? 'unreachable for now (serving the last good answers)'}${writes}${token ? '; token required' : ''}`,
      );

      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          server.close(() => resolve());
          // Keep-alive connections would hold close() open.
          (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      stopSupervising();
      await Promise.all([db.close(), writeDb === db ? null : writeDb.close()]);
    });
}
