import type { Db } from '../warehouse/db.js';
import type { Fingerprint } from './fingerprint.js';
import { firstDay, type Month } from '../calendar/months.js';

/**
 * archive_manifest, one row per month ever archived:
 * uploaded (the file is in the store) → verified (read back, equal to the partition) → archived (partition
 * dropped, in the same transaction) → restored (partition back, the file kept).
 */
export type ManifestState = 'uploaded' | 'verified' | 'archived' | 'restored';

export interface ManifestEntry extends Fingerprint {
  month: Month;
  partitionName: string;
  uri: string;
  bytes: number;
  state: ManifestState;
  archivedAt: string | null;
  restoredAt: string | null;
}

const COLUMNS = `to_char(month, 'YYYY-MM') as month, partition_name, uri, rows::text as rows, bytes::text as bytes,
                 trim_scale(rate_sum)::text as rate_sum, checksum, state, archived_at, restored_at`;

interface EntryRow {
  month: string;
  partition_name: string;
  uri: string;
  rows: string;
  bytes: string;
  rate_sum: string;
  checksum: string;
  state: ManifestState;
  archived_at: Date | null;
  restored_at: Date | null;
}

const toEntry = (row: EntryRow): ManifestEntry => ({
  month: row.month,
  partitionName: row.partition_name,
  uri: row.uri,
  rows: Number(row.rows),
  bytes: Number(row.bytes),
  rateSum: row.rate_sum,
  checksum: row.checksum,
  state: row.state,
  archivedAt: row.archived_at?.toISOString() ?? null,
  restoredAt: row.restored_at?.toISOString() ?? null,
});

export async function manifestEntry(db: Db, month: Month): Promise<ManifestEntry | null> {
  const [row] = await db.query<EntryRow & Record<string, unknown>>(`select ${COLUMNS} from archive_manifest where month = $1::date`, [
    firstDay(month),
  ]);
  return row ? toEntry(row) : null;
}

/**
 * SQL for one value: the months in a state (a literal of ManifestState), oldest first, as a JSON array for
 * entriesOfJson, for a caller that reads them in the same statement as other things.
 */
export const entriesJson = (state: ManifestState) =>
  `(select coalesce(json_agg(m order by m.month), '[]') from (select ${COLUMNS} from archive_manifest where state = '${state}') m)`;

/** entriesJson's value (its timestamps as JSON text) as entries. */
export function entriesOfJson(
  json: (Omit<EntryRow, 'archived_at' | 'restored_at'> & { archived_at: string | null; restored_at: string | null })[],
): ManifestEntry[] {
  return json.map((row) =>
    toEntry({
      ...row,
      archived_at: row.archived_at === null ? null : new Date(row.archived_at),
      restored_at: row.restored_at === null ? null : new Date(row.restored_at),
    }),
  );
}

/** Every month in a state, oldest first. */
export async function manifestEntries(db: Db, state: ManifestState): Promise<ManifestEntry[]> {
  const rows = await db.query<EntryRow & Record<string, unknown>>(
    `select ${COLUMNS} from archive_manifest where state = $1 order by month`,
    [state],
  );
  return rows.map(toEntry);
}

/** The month's file is in the store, holding rows with this fingerprint (an archived month is never overwritten). */
export async function recordUploaded(
  db: Db,
  entry: Fingerprint & { month: Month; partitionName: string; uri: string; bytes: number },
): Promise<void> {
  await db.query(
    `insert into archive_manifest (month, partition_name, uri, rows, bytes, rate_sum, checksum, state)
     values ($1::date, $2, $3, $4, $5, $6::numeric, $7, 'uploaded')
     on conflict (month) do update
        set partition_name = excluded.partition_name, uri = excluded.uri, rows = excluded.rows, bytes = excluded.bytes,
            rate_sum = excluded.rate_sum, checksum = excluded.checksum, state = 'uploaded', archived_at = null, updated_at = now()
      where archive_manifest.state <> 'archived'`,
    [firstDay(entry.month), entry.partitionName, entry.uri, entry.rows, entry.bytes, entry.rateSum, entry.checksum],
  );
}

/** Moves a month from one state to the next; throws when it was not in the expected state. */
export async function advanceState(db: Db, month: Month, from: ManifestState, to: ManifestState): Promise<void> {
  const stamp = to === 'archived' ? ', archived_at = now()' : to === 'restored' ? ', restored_at = now()' : '';
  const rows = await db.query(
    `update archive_manifest set state = $3, updated_at = now()${stamp} where month = $1::date and state = $2 returning 1`,
    [firstDay(month), from, to],
  );
  if (rows.length !== 1) throw new Error(`archive_manifest: ${month} is not ${from}`);
}
