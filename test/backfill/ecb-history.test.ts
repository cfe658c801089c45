import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { indexEcbHistory, parseEcbHistory, readYearBlock } from '../../src/sources/ecb-history.js';
import { ExactNumber } from '../../src/sources/types.js';
import { scratchDir } from '../helpers/database.js';
import { FIXTURE_CSV, fixtureText, readEcbFile, threeYearCsv } from './support.js';

const dir = scratchDir('fxpipe-ecb-history-');
const write = (name: string, text: string) => {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
};

describe("the ECB's historical file", () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("is indexed in one pass into year blocks, oldest first, each read back as the header plus that year's lines", async () => {
    const text = threeYearCsv();
    const file = readEcbFile(text);
    const csv = write('three.csv', text);
    const index = await indexEcbHistory(csv, { from: '2022-01-01', to: '2024-12-31' });
    expect(index.header.toString()).toBe(`${file.header}\n`);
    expect(index.years.map((y) => y.days)).toEqual([
      { from: '2022-01-01', to: '2022-12-31' },
      { from: '2023-01-01', to: '2023-12-31' },
      { from: '2024-01-01', to: '2024-12-31' },
    ]);
    for (const block of index.years) {
      const year = block.days.from.slice(0, 4);
      const expected = [file.header, ...file.lines.filter((line) => line.startsWith(year))].join('\n') + '\n';
      expect((await readYearBlock(index, block)).toString()).toBe(expected);
    }
  });

  it('keeps only the lines within the range, and no block for a year without any', async () => {
    const text = threeYearCsv();
    const csv = write('cut.csv', text);
    const index = await indexEcbHistory(csv, { from: '2023-11-15', to: '2024-02-10' });
    expect(index.years.map((y) => y.days)).toEqual([
      { from: '2023-11-15', to: '2023-12-31' },
      { from: '2024-01-01', to: '2024-02-10' },
    ]);
    const days = readEcbFile((await readYearBlock(index, index.years[0]!)).toString()).days.map((d) => d.date);
    expect([days[0], days.at(-1)]).toEqual(['2023-12-31', '2023-11-15']);
    expect(days.every((day) => day >= '2023-11-15' && day <= '2023-12-31')).toBe(true);
    expect((await indexEcbHistory(csv, { from: '2021-01-01', to: '2021-12-31' })).years).toEqual([]);
  });

  it('parses a year into one EUR-based extraction per day, oldest first, N/A cells left out, as-of the ECB fix', async () => {
    const index = await indexEcbHistory(FIXTURE_CSV, { from: '2024-01-01', to: '2024-12-31' });
    const block = index.years[0]!;
    const extractions = await parseEcbHistory(await readYearBlock(index, block), block.days, 'eurofxref-hist.csv');
    const file = readEcbFile(fixtureText());
    expect(extractions).toHaveLength(file.days.length);
    expect(extractions[0]).toMatchObject({ source: 'ecb', base: 'EUR', requestedBase: 'EUR' });
    expect(extractions[0]!.asOf.toISOString()).toBe('2024-01-02T15:00:00.000Z');
    expect(extractions.at(-1)!.asOf.toISOString()).toBe('2024-12-31T15:00:00.000Z');
    const first = extractions[0]!.quotes;
    expect(first).toHaveLength(30);
    expect(first[0]).toEqual({ code: 'USD', value: new ExactNumber('1.0956') });
    expect(first.some((q) => q.code === 'CYP' || q.code === '')).toBe(false);
  });

  it('names the problem when the file is not the ECB format', async () => {
    const range = { from: '2022-01-01', to: '2024-12-31' };
    await expect(indexEcbHistory(write('html.csv', '<html>gone</html>\n'), range)).rejects.toThrow(
      'ecb: html.csv: not the ECB\'s historical file: it starts "<html>gone</html>", not "Date,"',
    );
    const lines = threeYearCsv().split('\n');
    const shuffled = [lines[0], lines[1], lines.find((l) => l.startsWith('2023')), lines[2]].join('\n');
    await expect(indexEcbHistory(write('shuffled.csv', shuffled), range)).rejects.toThrow(
      'ecb: shuffled.csv: line 4: the lines of 2024 are not all together',
    );
    await expect(indexEcbHistory(write('nodate.csv', `${lines[0]}\nyesterday,1.1,\n`), range)).rejects.toThrow(
      'line 2 does not start with a date',
    );
  });
});
