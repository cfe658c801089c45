type Align = 'left' | 'right';

/** Rows of cells as aligned columns two spaces apart, under a header, each line indented; widths: measured elsewhere. */
export function alignedTable(
  header: string[],
  rows: string[][],
  align: Align[] = [],
  indent = '  ',
  widths = columnWidths(header, rows),
): string[] {
  const line = (cells: string[]) =>
    indent +
    cells
      .map((cell, column) => (align[column] === 'right' ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

function columnWidths(header: string[], rows: string[][]): number[] {
  return header.map((title, column) => rows.reduce((width, row) => Math.max(width, (row[column] ?? '').length), title.length));
}

/** An ISO instant as "2026-01-09 12:00:00Z"; "-" for none. */
export function shortTime(iso: string | null): string {
  return iso ? `${iso.slice(0, 10)} ${iso.slice(11, 19)}Z` : '-';
}
