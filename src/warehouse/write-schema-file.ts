import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FxpipeError, oneLine } from '../errors.js';
import { packageRoot } from '../util/package-root.js';
import { liveSchemaFile, SCHEMA_FILE } from './schema-file.js';

/**
 * `npm run db:schema`: writes src/warehouse/schema.sql anew from the migrations (see schema-file.ts), on DATABASE_URL's
 * server when it is PostgreSQL 15, else on a throwaway Debian PostgreSQL 15 cluster (as root). With --check, writes
 * nothing and exits 1 when the file is stale.
 */
async function main(): Promise<void> {
  const check = process.argv.slice(2).includes('--check');
  const text = await liveSchemaFile(process.env.DATABASE_URL || undefined);
  const file = path.relative(packageRoot, SCHEMA_FILE);
  let committed: string | null = null;
  try {
    committed = readFileSync(SCHEMA_FILE, 'utf8');
  } catch {
    committed = null;
  }
  if (check) {
    if (committed === text) {
      console.log(`${file} is up to date.`);
    } else {
      console.error(`${file} is stale: \`npm run db:schema\` writes it anew.`);
      process.exitCode = 1;
    }
    return;
  }
  writeFileSync(SCHEMA_FILE, text);
  console.log(committed === text ? `${file} was up to date.` : `Wrote ${file} (${text.split('\n').length - 1} lines).`);
}

main().catch((error: unknown) => {
  console.error(`db:schema failed: ${oneLine(error)}`);
  process.exit(error instanceof FxpipeError ? error.exitCode : 1);
});
