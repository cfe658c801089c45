import { createHash } from 'node:crypto';
import type { ManifestEntry } from './manifest.js';
import type { SnapshotFile } from './hot-snapshot.js';

/**
 * Bumped whenever what a snapshot holds changes (its columns, their types, the files): snapshots written by an
 * earlier version then have another key and are never read.
 */
const SNAPSHOT_FORMAT = 2;

/** What the hot tier holds in one PostgreSQL snapshot: its key and the row count of each file a snapshot of it has. */
export interface HotState {
  /** 64 hex digits; equal keys mean equal rows (see hotStateOf). */
  key: string;
  rows: Record<SnapshotFile, number>;
}

/**
 * Per table: its row count and the sum of its rows' xmin (the id of the transaction that wrote each row version).
 * Every writer of the history inserts (run, backfill and reprocess with new change_ids, restore with the archived
 * ones): the count and the xmin sum move; archive detaches partitions: the partition list and the manifest move; an
 * UPDATE or DELETE anywhere, by fxpipe or by hand, gives row versions new xmins or lowers the count. (The newest
 * change_id would add nothing: every insert moves the xmin sum, and restore's rows are not the newest.) xmin is read
 * as stored (freezing keeps it), so the sum only moves when rows do.
 *
 * The sum is taken modulo 2^32 through age(), which needs no text conversion per row (xmin::text::bigint made the
 * statement 3-4 times slower): age(x) is the transaction's own next xid (the same for the whole transaction) less x,
 * modulo 2^32, so Σ age(xmin) − count × age('3') ≡ 3 × count − Σ xmin, whatever transaction reads it. A row version
 * rewritten by one later transaction moves it by less than 2^32, never by a multiple of it.
 */
const XMIN_SUM = `((sum(age(xmin)) - count(*) * age('3'::xid)) % 4294967296 + 4294967296) % 4294967296`;
const versions = (table: string) => `(select json_build_array(count(*), ${XMIN_SUM}) from ${table})`;
const STATE = `
  json_build_object(
    'history', ${versions('fact_rates_history')},
    'partitions', (select coalesce(json_agg(json_build_array(c.oid, c.relname) order by c.relname), '[]')
                     from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = 'fact_rates_history'::regclass),
    'currencies', ${versions('dim_currency')},
    'sources', ${versions('dim_source')},
    'dates', ${versions('dim_date')}
  )::text`;

/**
 * One row: `state`, the hot tier's figures (above) as JSON text for hotStateOf, and `manifest`, whether
 * archive_manifest exists (a warehouse from before archiving has none, so no month is archived). Reads every hot row's
 * xmin once (a count and the newest change_id alone would miss rows changed in place).
 */
export const STATE_SQL = `select ${STATE} as state, to_regclass('archive_manifest') is not null as manifest`;

type Counted = [rows: number, ...rest: unknown[]];

/**
 * The hot tier's state from STATE_SQL's `state`, read in the same snapshot as the archived months of the manifest:
 * its key hashes the history's row count and xmin sum, the partition list (oid and name), the same figures of the
 * three dimensions, and the archived months.
 */
export function hotStateOf(stateText: string, archived: readonly ManifestEntry[]): HotState {
  const state = JSON.parse(stateText) as Record<SnapshotFile, Counted> & { partitions: unknown };
  const manifest = archived.map((entry) => [entry.month, entry.uri, entry.rows, entry.checksum]);
  const key = createHash('sha256').update(JSON.stringify([SNAPSHOT_FORMAT, stateText, manifest])).digest('hex');
  return {
    key,
    rows: { history: state.history[0], currencies: state.currencies[0], sources: state.sources[0], dates: state.dates[0] },
  };
}
