import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { firstDifference, settingsTable, tableInReadme, withTable } from './config-table.js';
import { oneLine } from './errors.js';
import { packageRoot } from './util/package-root.js';

/**
 * `npm run docs:settings`: writes README.md's settings table anew from the settings (src/config.ts). With --check,
 * writes nothing and exits 1 naming the first line that differs.
 */
function main(): void {
  const check = process.argv.slice(2).includes('--check');
  const file = path.join(packageRoot, 'README.md');
  const readme = readFileSync(file, 'utf8');
  const table = settingsTable();
  const difference = firstDifference(tableInReadme(readme), table);
  if (check) {
    if (difference === null) console.log("README.md's settings table is up to date.");
    else {
      console.error(`README.md's settings table is stale (${difference}): \`npm run docs:settings\` writes it anew.`);
      process.exitCode = 1;
    }
    return;
  }
  if (difference !== null) writeFileSync(file, withTable(readme, table));
  const written = `Wrote README.md's settings table (${table.length - 2} settings).`;
  console.log(difference === null ? "README.md's settings table was up to date." : written);
}

try {
  main();
} catch (error) {
  console.error(`docs:settings failed: ${oneLine(error)}`);
  process.exit(1);
}
