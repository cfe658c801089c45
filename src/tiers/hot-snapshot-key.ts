import { createHash } from 'node:crypto';
import { entriesJson, type ManifestEntry } from './manifest.js';

/**
 * Bumped whenever what a snapshot holds changes (its columns, their types, the files): snapshots written by an
 * earlier version then have another key and are never read.
 */
const SNAPSHOT_FORMAT = 4;

/** What the hot tier holds in one PostgreSQL snapshot: 64 hex digits; equal keys mean equal rows (see hotStateOf). */
export interface HotState {
  key: string;
}

/**
 * The history's figure is its version (migration 0013): every statement that writes the history, or one of its
 * partitions, moves it in its own transaction; archive detaches partitions: the partition list and the manifest move.
 * Reading it costs one row whatever the history's size.
 *
 * Each dimension's figure is its row count and the sum of its rows' xmin (the id of the transaction that wrote each
 * row version): an insert moves both, an UPDATE or DELETE anywhere, by fxpipe or by hand, gives row versions new xmins
 * or lowers the count. xmin is read as stored (freezing keeps it), so the sum only moves when rows do. The sum is
 * taken modulo 2^32 through age(), which needs no text conversion per row: age(x) is the transaction's own next xid
 * (the same for the whole transaction) less x, modulo 2^32, so Σ age(xmin) − count × age('3') ≡ 3 × count − Σ xmin,
 * whatever transaction reads it. A row version rewritten by one later transaction moves it by less than 2^32.
 */
const XMIN_SUM = `((sum(age(xmin)) - count(*) * age('3'::xid)) % 4294967296 + 4294967296) % 4294967296`;
const versions = (table: string) => `(select json_build_array(count(*), ${XMIN_SUM}) from ${table})`;
const STATE = `
  json_build_object(
    'history', (select version from history_version),
    'partitions', (select coalesce(json_agg(json_build_array(c.oid, c.relname) order by c.relname), '[]')
                     from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = 'fact_rates_history'::regclass),
    'currencies', ${versions('dim_currency')},
    'sources', ${versions('dim_source')},
    'dates', ${versions('dim_date')}
  )::text`;

/**
 * One row: `state`, the hot tier's figures (above) as JSON text for hotStateOf, and `archived`, the archived months
 * of the manifest (entriesJson). On a warehouse without migration 0013 it fails with 42P01 naming history_version.
 */
export const STATE_SQL = `select ${STATE} as state, ${entriesJson('archived')} as archived`;

/**
 * The hot tier's state from STATE_SQL's `state`, read in the same snapshot as the archived months of the manifest:
 * its key hashes the history's version, the partition list (oid and name), the dimensions' figures and the archived
 * months.
 */
export function hotStateOf(stateText: string, archived: readonly ManifestEntry[]): HotState {
  const manifest = archived.map((entry) => [entry.month, entry.uri, entry.rows, entry.checksum]);
  return {
    key: createHash('sha256')
      .update(JSON.stringify([SNAPSHOT_FORMAT, stateText, manifest]))
      .digest('hex'),
  };
}
