import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { usageError } from '../errors.js';
import { checkRemote } from '../postgres/readers/check-remote.js';
import { readPasswordFile } from '../postgres/readers/reader-password.js';
import { parseRoleName } from '../postgres/readers/role-name.js';
import { parseWholeNumberFlag } from './flags.js';
import { printJson } from './output.js';

const MARK = { true: '✓', false: '✗', null: '!' } as const;

export function checkRemoteCommand(): Command {
  return new Command('check-remote')
    .description(
      'check from this machine what Make.com will meet at a PostgreSQL server: TLS required, the reader logs in, api.convert answers, nothing outside api readable, no other database of the server reachable, its limits',
    )
    .requiredOption('--host <host>', 'the host name or address Make.com connects to')
    .option('--port <n>', 'its port', '5432')
    .option('--database <name>', 'the database', 'fxpipe')
    .option('--user <role>', 'the reader role', 'make_reader')
    .option('--password-file <file>', "the reader's password is this file's first line (default: the PGPASSWORD environment variable)")
    .option(
      '--ca <file>',
      "verify the server's certificate against this PEM root (e.g. FXPIPE_HOME/tls/server.crt) instead of this machine's CAs",
    )
    .option('--json', 'print the checks as one JSON object')
    .action(
      async (options: {
        host: string;
        port: string;
        database: string;
        user: string;
        passwordFile?: string;
        ca?: string;
        json?: boolean;
      }) => {
        const port = parseWholeNumberFlag(options.port, '--port', 1, 65_535);
        const user = parseRoleName(options.user);
        if (!/^[A-Za-z0-9_.:-]{1,253}$/.test(options.host))
          throw usageError(`invalid --host ${JSON.stringify(options.host)}: expected a host name or an IP address`);
        if (!/^[A-Za-z_][A-Za-z0-9_$-]{0,62}$/.test(options.database))
          throw usageError(`invalid --database ${JSON.stringify(options.database)}`);
        const password = options.passwordFile !== undefined ? await readPasswordFile(options.passwordFile) : process.env.PGPASSWORD;
        if (!password) throw usageError("give the reader's password: --password-file FILE, or the PGPASSWORD environment variable");
        const ca =
          options.ca === undefined
            ? undefined
            : await readFile(options.ca, 'utf8').catch((error: NodeJS.ErrnoException) => {
                throw usageError(`cannot read the --ca file ${options.ca} (${error.code ?? 'error'})`, error);
              });
        const checks = await checkRemote({ host: options.host, port, database: options.database, user, password, ...(ca ? { ca } : {}) });
        const ok = checks.every((check) => check.ok !== false);
        if (!ok) process.exitCode = 1;
        if (options.json) {
          printJson({ host: options.host, port, database: options.database, user, ok, checks });
          return;
        }
        console.log(`${options.user}@${options.host}:${port}/${options.database}, as Make.com will connect:`);
        for (const check of checks) console.log(`  ${MARK[String(check.ok) as keyof typeof MARK]} ${check.name.padEnd(20)}${check.detail}`);
        console.log(ok ? 'Ready for a Make.com connection with Encrypt: Yes.' : 'Not ready: see the lines marked ✗.');
      },
    );
}
