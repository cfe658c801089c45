/** One JSON object on stdout, as `--json` promises. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * The same JSON object as printJson(head + {[key]: every row} + tail) would print, written as the rows' pages arrive:
 * a check of a million rows is never held whole.
 */
export async function printJsonWithRows(
  head: Record<string, unknown>,
  key: string,
  pages: AsyncIterable<unknown[]>,
  tail: Record<string, unknown>,
): Promise<void> {
  const field = (name: string, value: unknown) => `  ${JSON.stringify(name)}: ${JSON.stringify(value, null, 2).replaceAll('\n', '\n  ')}`;
  const write = (text: string) => process.stdout.write(text);
  write(
    `{\n${Object.entries(head)
      .map(([name, value]) => `${field(name, value)},\n`)
      .join('')}  ${JSON.stringify(key)}: [`,
  );
  let rows = 0;
  for await (const page of pages) {
    write(page.map((row) => `${rows++ === 0 ? '' : ','}\n    ${JSON.stringify(row, null, 2).replaceAll('\n', '\n    ')}`).join(''));
  }
  const rest = Object.entries(tail)
    .map(([name, value]) => `,\n${field(name, value)}`)
    .join('');
  write(`${rows === 0 ? ']' : '\n  ]'}${rest}\n}\n`);
}
