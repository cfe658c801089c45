import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { firstDifference, settingsTable, tableInReadme, withTable } from '../../src/config-table.js';
import { settings } from '../../src/config.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe("README's settings table", () => {
  it('is the table the settings make (`npm run docs:settings` writes it)', () => {
    expect(firstDifference(tableInReadme(README), settingsTable())).toBeNull();
  });

  it('has a row per setting, naming its environment variable', () => {
    const rows = tableInReadme(README).slice(2);
    expect(rows.map((row) => /^\| `(\w+)` \| `(\w+)` \|/.exec(row)?.slice(1))).toEqual(
      Object.entries(settings).map(([key, setting]) => [key, setting.env]),
    );
  });

  it('a table edited by hand is named at its first differing line, and written anew in place', () => {
    const edited = README.replace('| `httpRetries` | `FXPIPE_HTTP_RETRIES` | `3` |', '| `httpRetries` | `FXPIPE_HTTP_RETRIES` | `4` |');
    expect(edited).not.toBe(README);
    const line = settingsTable().findIndex((row) => row.startsWith('| `httpRetries`')) + 1;
    expect(firstDifference(tableInReadme(edited), settingsTable())).toMatch(
      new RegExp(`^line ${line} of the table: README.md has "\\| \`httpRetries\` \\| \`FXPIPE_HTTP_RETRIES\` \\| \`4\` \\|`),
    );
    expect(withTable(edited, settingsTable())).toBe(README);
    // A row missing at the end is named too.
    const missing = firstDifference(settingsTable().slice(0, -1), settingsTable());
    expect(missing).toMatch(/README.md has null, the settings give "\| `adviseHorizonMonths`/);
  });
});
