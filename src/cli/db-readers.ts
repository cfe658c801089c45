import { Command } from 'commander';
import { grantReader } from '../postgres/readers/grant-reader.js';
import { readPasswordFile } from '../postgres/readers/reader-password.js';
import { revokeReader } from '../postgres/readers/revoke-reader.js';
import { parseRoleName } from '../postgres/readers/role-name.js';
import { formatSize, parseSize, parseTimeout, type ReaderLimits } from '../postgres/readers/reader-limits.js';
import { parseWholeNumberFlag } from './flags.js';
import { initWarehouse } from '../warehouse/init.js';
import type { CommandContext } from './context.js';
import { printJson } from './output.js';

type MakeContext = () => CommandContext;

export function grantReaderCommand(context: MakeContext): Command {
  return new Command('grant-reader')
    .description(
      'create or update a login role that can read the api schema and nothing else on the server: no other database, no temporary tables, no advisory locks (for Make.com, BI tools)',
    )
    .argument('<name>', 'role name: lower-case letters, digits and _')
    .option('--password-file <file>', "the role's password is this file's first line (default: a generated one, printed once)")
    .option('--statement-timeout <duration>', 'longest query the reader may run, e.g. 30s, 2min (default: its current limit, else 30s)')
    .option(
      '--idle-in-transaction-timeout <duration>',
      'longest the reader may sit idle inside a transaction (default: its current limit, else 60s)',
    )
    .option('--connection-limit <n>', 'most connections the reader may hold at once (default: its current limit, else 10)')
    .option(
      '--temp-file-limit <size>',
      'most disk a session may use for temporary files (sorts, hashes), e.g. 1GB, 200MB (default: its current limit, else 1GB)',
    )
    .option(
      '--memory-limit <size>',
      "most private memory a session may hold, e.g. 512MB, 2GB; the embedded server's watchdog ends a session past it (default: its current limit, else 512MB)",
    )
    .option('--json', 'print the result as one JSON object')
    .action(async (name: string, options: GrantFlags) => {
      const role = parseRoleName(name);
      const limits: Partial<ReaderLimits> = {
        ...(options.statementTimeout === undefined
          ? {}
          : { statementTimeoutMs: parseTimeout(options.statementTimeout, '--statement-timeout') }),
        ...(options.idleInTransactionTimeout === undefined
          ? {}
          : { idleInTransactionTimeoutMs: parseTimeout(options.idleInTransactionTimeout, '--idle-in-transaction-timeout') }),
        ...(options.connectionLimit === undefined
          ? {}
          : { connectionLimit: parseWholeNumberFlag(options.connectionLimit, '--connection-limit', 1, 1000) }),
        ...(options.tempFileLimit === undefined ? {} : { tempFileLimitKb: parseSize(options.tempFileLimit, '--temp-file-limit', 1024) }),
        ...(options.memoryLimit === undefined ? {} : { memoryLimitKb: parseSize(options.memoryLimit, '--memory-limit', 16 * 1024) }),
      };
      const password = options.passwordFile === undefined ? undefined : await readPasswordFile(options.passwordFile);
      const ctx = context();
      const { result, server, embedded } = await ctx.withDb(
        async (db, target) => {
          await initWarehouse(db);
          return {
            result: await grantReader(db, role, password, limits, { closeServer: target.embedded }),
            server: target.label,
            embedded: target.embedded,
          };
        },
        { driver: 'direct' },
      );
      if (!result.tempFileLimitSet) {
        const size = formatSize(result.limits.tempFileLimitKb).replace(' ', '');
        process.stderr.write(
          `fxpipe: warning: ${role}'s temporary files are not bounded: fxpipe's role may not set temp_file_limit (superuser-only); ` +
            `a superuser runs: alter role ${role} set temp_file_limit = '${size}'\n`,
        );
      }
      const passwordSource = result.generatedPassword ? 'generated' : password !== undefined ? 'file' : 'unchanged';
      if (options.json) {
        printJson({
          role,
          database: result.database,
          server,
          created: result.created,
          password: passwordSource,
          limits: result.limits,
          tempFileLimitSet: result.tempFileLimitSet,
          memoryLimitEnforced: embedded,
          closedDatabases: result.closed,
          ...(result.generatedPassword ? { generatedPassword: result.generatedPassword } : {}),
        });
        return;
      }
      const grants = 'SELECT on the api views, EXECUTE on the api functions, nothing else (no temporary tables)';
      const passwordNote = {
        generated: 'password generated',
        file: `password from ${options.passwordFile}`,
        unchanged: 'password unchanged (--password-file sets a new one)',
      }[passwordSource];
      console.log(
        `${result.created ? 'Created' : 'Updated'} reader ${role} in database ${result.database} (${server}): ${grants}; ${passwordNote}.`,
      );
      if (result.generatedPassword) {
        console.log(
          `Password (shown this once; fxpipe keeps no copy — paste it into the Make.com connection or a secret store now): ${result.generatedPassword}`,
        );
      }
      console.log(limitsLine(result.limits, result.tempFileLimitSet, embedded));
    });
}

interface GrantFlags {
  passwordFile?: string;
  statementTimeout?: string;
  idleInTransactionTimeout?: string;
  connectionLimit?: string;
  tempFileLimit?: string;
  memoryLimit?: string;
  json?: boolean;
}

/** The reader's limits in one line, saying which hold where: memory is measured by the embedded server's watchdog only. */
function limitsLine(limits: ReaderLimits, tempFileLimitSet: boolean, embedded: boolean): string {
  const timeouts = `queries up to ${duration(limits.statementTimeoutMs)}, idle in a transaction up to ${duration(limits.idleInTransactionTimeoutMs)}`;
  const memory = `memory up to ${formatSize(limits.memoryLimitKb)} a session`;
  const tempFiles = tempFileLimitSet
    ? `temporary files up to ${formatSize(limits.tempFileLimitKb)}`
    : 'temporary files not bounded (see the warning)';
  return embedded
    ? `Limits: ${timeouts}, ${memory} (enforced by the watchdog: see docs/make-com.md), at most ${limits.connectionLimit} connections at once, ${tempFiles}.`
    : `Limits: ${timeouts} (enforced by the watchdog: see docs/make-com.md), at most ${limits.connectionLimit} connections at once, ${tempFiles}; ` +
        "memory bounded only on fxpipe's embedded server (docs/make-com.md).";
}

function duration(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000} min` : ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

export function revokeReaderCommand(context: MakeContext): Command {
  return new Command('revoke-reader')
    .description('revoke everything a grant-reader role holds in this database and drop the role (only roles grant-reader created)')
    .argument('<name>', 'the reader role')
    .option('--json', 'print the result as one JSON object')
    .action(async (name: string, options: { json?: boolean }) => {
      const role = parseRoleName(name);
      const ctx = context();
      const { result, server } = await ctx.withDb(
        async (db, target) => {
          await initWarehouse(db);
          return { result: await revokeReader(db, role), server: target.label };
        },
        { driver: 'direct' },
      );
      if (!result.dropped) process.exitCode = 1;
      if (options.json) {
        printJson({ server, ...result });
        return;
      }
      console.log(
        result.dropped
          ? `Revoked reader ${role}: its privileges in database ${result.database} (${server}) are revoked and the role is dropped.`
          : `Revoked reader ${role}'s privileges in database ${result.database} (${server}), but the role remains: ${result.remaining}. Run revoke-reader against that database too.`,
      );
    });
}
