import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { isLosslessNumber, parse as parseLossless } from 'lossless-json';
import { expect } from 'vitest';
import type { SourceName } from '../../src/sources/types.js';
import { RateDecimal } from '../../src/transform/decimal.js';
import type { SessionDb } from '../../src/warehouse/db.js';
import { initWarehouse } from '../../src/warehouse/init.js';
import { runCli } from '../helpers/cli.js';
import { scratchDir, type TestDatabase } from '../helpers/database.js';
import { loadedOnce } from '../helpers/loaded-once.js';
import { manualRun } from '../helpers/pipeline.js';

/**
 * A warehouse loaded with the real provider files in test/fixtures, for the backup endpoints' tests (docs/backup.md):
 * open.er-api's answer of 2024-01-09 (source open-er-api), the ECB's daily file of 2025-05-09 and its 2024 history
 * (source ecb). Both sources are primaries; the ECB ranks first (by name) where both have a rate.
 */
export const FIXTURES = path.resolve('test/fixtures');
export const OPEN_ER = readFileSync(path.join(FIXTURES, 'open-er-api-latest-USD-2024-01-09.json'));
export const ECB_DAILY = readFileSync(path.join(FIXTURES, 'ecb-eurofxref-daily-2025-05-09.xml'));
export const ECB_HISTORY = path.join(FIXTURES, 'eurofxref-hist-2024.csv');

/** The ECB's EUR→code of a day of the 2024 history file. */
export function ecbHistory(day: string): Map<string, RateDecimal> {
  const [header, ...lines] = readFileSync(ECB_HISTORY, 'utf8').trim().split('\n');
  const codes = header!.split(',').slice(1);
  const line = lines.find((l) => l.startsWith(`${day},`));
  if (!line) throw new Error(`no ${day} in the ECB history`);
  const values = line.split(',').slice(1);
  return new Map(codes.flatMap((code, i) => (code && values[i] && values[i] !== 'N/A' ? [[code.trim(), new RateDecimal(values[i])]] : [])));
}

/** The ECB's EUR→code of its daily file. */
export const ecbDaily = () =>
  new Map([...ECB_DAILY.toString().matchAll(/currency='([A-Z]{3})' rate='([0-9.]+)'/g)].map((m) => [m[1]!, new RateDecimal(m[2]!)]));

export interface BackupWarehouse {
  database: TestDatabase;
  db: SessionDb;
  home: string;
  close(): Promise<void>;
}

export async function backupWarehouse(): Promise<BackupWarehouse> {
  // The same files every time: loaded once per suite run, cloned for each file (test/helpers/loaded-once.ts).
  const { database } = await loadedOnce('backup_fixtures', loadFixtures);
  const db = await database.open();
  await initWarehouse(db);
  const home = path.join(scratchDir('fxpipe-backup-'), 'home');
  return { database, db, home, close: () => database.drop() };
}

async function loadFixtures(database: TestDatabase): Promise<void> {
  const db = await database.open();
  await initWarehouse(db);
  const files = createServer((request, response) => {
    const body = request.url === '/v6/latest/USD' ? OPEN_ER : request.url === '/eurofxref-daily.xml' ? ECB_DAILY : null;
    response
      .writeHead(body ? 200 : 404, { 'content-type': request.url?.endsWith('.xml') ? 'application/xml' : 'application/json' })
      .end(body ?? '');
  });
  await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve));
  try {
    const origin = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
    const load = (source: SourceName, now: string) => manualRun(db, source, { baseUrl: origin }, () => new Date(now));
    expect(await load('open-er-api', '2024-01-09T06:00:00Z')).toMatchObject({ status: 'loaded' });
    expect(await load('ecb', '2025-05-09T17:00:00Z')).toMatchObject({ status: 'loaded' });
  } finally {
    files.close();
  }
  const home = path.join(scratchDir('fxpipe-backup-load-'), 'home');
  const backfill = await runCli(['backfill', '--source', 'ecb-csv', '--file', ECB_HISTORY, '--from', '2024-01-01', '--to', '2024-12-31'], {
    env: { DATABASE_URL: database.url, FXPIPE_HOME: home },
    timeoutMs: 120_000,
  });
  expect(backfill.code, backfill.stderr).toBe(0);
}

/** The numbers of a JSON text at path (keys, one per level) as the digits written, parsed without a float. */
export function digits(text: string, ...path: string[]): Record<string, string> {
  let node = parseLossless(text) as Record<string, unknown>;
  for (const key of path) node = node[key] as Record<string, unknown>;
  return Object.fromEntries(
    Object.entries(node).map(([code, value]) => [code, isLosslessNumber(value) ? value.toString() : String(value)]),
  );
}
