import { Command } from 'commander';
import { grantReader } from '../warehouse/readers/grant-reader.js';
import { readPasswordFile } from '../warehouse/readers/reader-password.js';
import { revokeReader } from '../warehouse/readers/revoke-reader.js';
import { parseRoleName } from '../warehouse/readers/role-name.js';
import { initWarehouse } from '../warehouse/init.js';
import type { CommandContext } from './context.js';
import { printJson } from './output.js';

type MakeContext = () => CommandContext;

export function grantReaderCommand(context: MakeContext): Command {
  return new Command('grant-reader')
    .description('create or update a login role that can read the api schema and nothing else (for Make.com, BI tools)')
    .argument('<name>', 'role name: lower-case letters, digits and _')
    .option('--password-file <file>', "the role's password is this file's first line (default: a generated one, printed once)")
    .option('--json', 'print the result as one JSON object')
    .action(async (name: string, options: { passwordFile?: string; json?: boolean }) => {
      const role = parseRoleName(name);
      const password = options.passwordFile === undefined ? undefined : await readPasswordFile(options.passwordFile);
      const ctx = context();
      const { result, server } = await ctx.withDb(
        async (db, target) => {
          await initWarehouse(db);
          return { result: await grantReader(db, role, password), server: target.label };
        },
        { driver: 'direct' },
      );
      const passwordSource = result.generatedPassword ? 'generated' : password !== undefined ? 'file' : 'unchanged';
      if (options.json) {
        printJson({ role, database: result.database, server, created: result.created, password: passwordSource, ...(result.generatedPassword ? { generatedPassword: result.generatedPassword } : {}) });
        return;
      }
      const grants = 'SELECT on the api views, EXECUTE on the api functions, nothing else';
      const passwordNote = { generated: 'password generated', file: `password from ${options.passwordFile}`, unchanged: 'password unchanged (--password-file sets a new one)' }[passwordSource];
      console.log(`${result.created ? 'Created' : 'Updated'} reader ${role} in database ${result.database} (${server}): ${grants}; ${passwordNote}.`);
      if (result.generatedPassword) {
        console.log(`Password (shown this once; fxpipe keeps no copy — paste it into the Make.com connection or a secret store now): ${result.generatedPassword}`);
      }
    });
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
