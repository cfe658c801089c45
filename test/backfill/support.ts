import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, deflateRawSync } from 'node:zlib';
import type { Db } from '../../src/warehouse/db.js';

export const FIXTURE_CSV = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/eurofxref-hist-2024.csv');

/** The ECB's historical file as the test reads it, independently of fxpipe: header codes, and each day's non-N/A values. */
export interface EcbFile {
  header: string;
  codes: string[];
  /** Newest first, as in the file. */
  lines: string[];
  days: { date: string; values: Map<string, string> }[];
}

export function readEcbFile(text: string): EcbFile {
  const [header = '', ...lines] = text.split('\n').filter((line) => line.trim() !== '');
  const codes = header.split(',').slice(1).filter(Boolean);
  const days = lines.map((line) => {
    const [date = '', ...cells] = line.split(',');
    const values = new Map<string, string>();
    codes.forEach((code, i) => {
      const cell = cells[i];
      if (cell !== undefined && cell !== 'N/A') values.set(code, cell);
    });
    return { date, values };
  });
  return { header, codes, lines, days };
}

export const fixtureText = () => readFileSync(FIXTURE_CSV, 'utf8');

/**
 * The (day, USD-based code) whose rebased value repeats the pair's previous published one exactly, found from
 * the file's text alone: EUR→X and EUR→USD both as on the pair's previous day (for EUR, EUR→USD alone).
 * The change rule stores none of them.
 */
export function exactRepeats(file: EcbFile): Set<string> {
  const repeats = new Set<string>();
  const last = new Map<string, string>();
  for (const { date, values } of [...file.days].reverse()) {
    const usd = values.get('USD');
    if (usd === undefined) continue;
    for (const [code, value] of values) {
      const pair = code === 'USD' ? 'EUR' : code;
      const seen = code === 'USD' ? usd : `${value}/${usd}`;
      if (last.get(pair) === seen) repeats.add(`${date} ${pair}`);
      last.set(pair, seen);
    }
  }
  return repeats;
}

/**
 * The 2024 fixture's lines moved to another year with slightly different values (same decimals, N/A kept;
 * 29 February dropped in a common year), optionally giving a currency values that year (a discontinued one).
 */
export function deriveYear(year: number, options: { scale: number; extra?: { code: string; value: number } }): string[] {
  const file = readEcbFile(fixtureText());
  const extraIndex = options.extra ? file.codes.indexOf(options.extra.code) : -1;
  return file.lines.flatMap((line, lineIndex) => {
    const [date = '', ...cells] = line.split(',');
    const day = `${year}${date.slice(4)}`;
    if (new Date(`${day}T00:00:00Z`).toISOString().slice(0, 10) !== day) return [];
    const moved = cells.map((cell, col) => {
      if (col === extraIndex) return (options.extra!.value * (1 + ((lineIndex % 9) - 4) / 4000)).toFixed(4);
      if (cell === 'N/A' || cell === '') return cell;
      const decimals = cell.split('.')[1]?.length ?? 0;
      const wiggle = 1 + (((lineIndex * 7 + col * 13) % 11) - 5) / 2500;
      return (Number(cell) * options.scale * wiggle).toFixed(decimals);
    });
    return [[day, ...moved].join(',')];
  });
}

/** 2022, 2023 (derived) and 2024 (the fixture) newest first under the fixture's header; HRK has values in 2022, as it did. */
export function threeYearCsv(): string {
  const file = readEcbFile(fixtureText());
  const y2023 = deriveYear(2023, { scale: 0.97 });
  const y2022 = deriveYear(2022, { scale: 0.94, extra: { code: 'HRK', value: 7.5345 } });
  return [file.header, ...file.lines, ...y2023, ...y2022].join('\n') + '\n';
}

/** A zip archive holding one deflated file, written byte by byte as the format specifies. */
export function writeZip(zipPath: string, entryName: string, content: string | Buffer): void {
  const data = Buffer.from(content);
  const compressed = deflateRawSync(data);
  const name = Buffer.from(entryName);
  const crc = crc32(data);
  const DOS_DATE_1980_01_01 = 0x21;
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(8, 8);
  local.writeUInt16LE(DOS_DATE_1980_01_01, 12);
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(compressed.length, 18);
  local.writeUInt32LE(data.length, 22);
  local.writeUInt16LE(name.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(8, 10);
  central.writeUInt16LE(DOS_DATE_1980_01_01, 14);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(compressed.length, 20);
  central.writeUInt32LE(data.length, 24);
  central.writeUInt16LE(name.length, 28);
  const centralOffset = local.length + name.length + compressed.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + name.length, 12);
  end.writeUInt32LE(centralOffset, 16);
  writeFileSync(zipPath, Buffer.concat([local, name, compressed, central, name, end]));
}

/** Every history row of a source with its codes instead of ids (ids differ between databases), in key order. */
export async function historyContents(db: Db, source: string): Promise<string[]> {
  const rows = await db.query<{ line: string }>(
    `select concat_ws(' ', h.date_key, b.currency_code, q.currency_code, h.rate_timestamp::text, h.rate::text,
                      coalesce(h.previous_rate::text, '-'), coalesce(h.change_pct::text, '-'), h.flags::text) as line
       from fact_rates_history h
       join dim_currency b on b.currency_id = h.base_currency_id
       join dim_currency q on q.currency_id = h.quote_currency_id
       join dim_source s on s.source_id = h.source_id
      where s.source_name = $1
      order by h.date_key, q.currency_code, h.rate_timestamp`,
    [source],
  );
  return rows.map((r) => r.line);
}

/** fact_rates_current of a source, comparable across databases. */
export async function currentContents(db: Db, source: string): Promise<string[]> {
  const rows = await db.query<{ line: string }>(
    `select concat_ws(' ', q.currency_code, c.rate::text, c.rate_timestamp::text, coalesce(c.previous_rate::text, '-'),
                      coalesce(c.change_pct::text, '-'), c.change_reason) as line
       from fact_rates_current c
       join dim_currency q on q.currency_id = c.quote_currency_id
       join dim_source s on s.source_id = c.source_id
      where s.source_name = $1
      order by q.currency_code`,
    [source],
  );
  return rows.map((r) => r.line);
}
