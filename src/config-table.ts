import { settings, type Setting } from './config.js';

/** The markers around README.md's settings table; `npm run docs:settings` writes what lies between them. */
export const TABLE_START =
  '<!-- settings table: written by `npm run docs:settings` from src/config.ts; edit the settings, not the table -->';
export const TABLE_END = '<!-- end of the settings table -->';

/** README's settings table, a row per setting in src/config.ts's order: file key, environment variable, default, meaning. */
export function settingsTable(): string[] {
  const rows = Object.entries(settings).map(([key, setting]) => {
    return `| \`${key}\` | \`${setting.env}\` | ${shownDefault(setting)} | ${setting.description} |`;
  });
  return ['| file key | environment | default | meaning |', '|---|---|---|---|', ...rows];
}

function shownDefault(setting: Pick<Setting<unknown>, 'default' | 'shownDefault'>): string {
  if (setting.shownDefault !== undefined) return setting.shownDefault;
  const value = setting.default;
  if (value === undefined) return '—';
  // Defaults are strings, numbers, or lists of strings (written as the environment spells them).
  const plain = typeof value === 'string' || typeof value === 'number';
  const shown = Array.isArray(value) ? value.join(',') : plain ? String(value) : JSON.stringify(value);
  return `\`${shown}\``;
}

/** The lines between readme's markers; throws when they are missing. */
export function tableInReadme(readme: string): string[] {
  const lines = readme.split('\n');
  const start = lines.indexOf(TABLE_START);
  const end = lines.indexOf(TABLE_END, start + 1);
  if (start < 0 || end < 0) throw new Error(`README.md lacks the settings table's markers ${TABLE_START} … ${TABLE_END}`);
  return lines.slice(start + 1, end);
}

/** readme with the lines between its markers replaced by table. */
export function withTable(readme: string, table: readonly string[]): string {
  const lines = readme.split('\n');
  const start = lines.indexOf(TABLE_START);
  const end = start + 1 + tableInReadme(readme).length;
  return [...lines.slice(0, start + 1), ...table, ...lines.slice(end)].join('\n');
}

/** The first line where README's table differs from the settings' (1 is the header), or null when they are the same. */
export function firstDifference(inReadme: readonly string[], table: readonly string[]): string | null {
  for (let i = 0; i < Math.max(inReadme.length, table.length); i++) {
    if (inReadme[i] === table[i]) continue;
    const [readme, settings] = [inReadme[i] ?? null, table[i] ?? null].map((line) => JSON.stringify(line));
    return `line ${i + 1} of the table: README.md has ${readme}, the settings give ${settings}`;
  }
  return null;
}
