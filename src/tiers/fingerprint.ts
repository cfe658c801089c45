/**
 * What proves two copies of a month hold the same rows, computed identically in PostgreSQL and DuckDB:
 * the row count, the exact sum of the rates (any size), and an md5 over the rows in key order, one line per row of
 * its key (ids, date_key, rate_timestamp in epoch microseconds) and its rate as canonical decimal text
 * (no trailing zeros). The DuckDB side renders the rate from the DECIMAL(38,24) column, so equal
 * checksums also prove every stored DECIMAL is the PostgreSQL value, digit for digit.
 */
import type { Db } from '../warehouse/db.js';
import type { Duck } from './duck.js';
import { KEY_ORDER } from './archive-row.js';
import { MONTHLY_PARTITION } from './partition-names.js';

export interface Fingerprint {
  rows: number;
  /** Exact decimal text without trailing zeros. */
  rateSum: string;
  /** md5 hex. */
  checksum: string;
}

const PG_LINE = `concat_ws('|', date_key, base_currency_id, quote_currency_id, source_id,
                           (extract(epoch from rate_timestamp) * 1000000)::bigint, trim_scale(rate))`;

const pgFingerprintOf = (from: string) => `
  select count(*)::text as rows, trim_scale(coalesce(sum(rate), 0))::text as rate_sum,
         md5(coalesce(string_agg(${PG_LINE}, E'\\n' order by ${KEY_ORDER}), '')) as checksum
    from ${from}`;

/** DuckDB DECIMAL → the text PostgreSQL's trim_scale(numeric)::text gives. */
const duckCanonical = (expression: string) =>
  `regexp_replace(regexp_replace(cast(${expression} as varchar), '(\\.[0-9]*?)0+$', '\\1'), '\\.$', '')`;

const DUCK_LINE = `concat_ws('|', date_key, base_currency_id, quote_currency_id, source_id, epoch_us(rate_timestamp), ${duckCanonical('rate')})`;

/**
 * The rate sum in two exact HUGEINT parts, whole units and units of 1e-24 (the DECIMAL(38,24) scale), so no
 * total overflows DECIMAL(38,24)'s 14 integer digits; composeSum joins them.
 */
const DUCK_FINGERPRINT = `
  select cast(count(*) as varchar) as rows,
         cast(coalesce(sum(cast(split_part(cast(rate as varchar), '.', 1) as hugeint)), 0) as varchar) as whole_sum,
         cast(coalesce(sum(cast(split_part(cast(rate as varchar), '.', 2) as hugeint)), 0) as varchar) as fraction_sum,
         md5(coalesce(string_agg(${DUCK_LINE}, chr(10) order by ${KEY_ORDER}), '')) as checksum
    from read_parquet($1)`;
const DUCK_SCALE = 24;

interface FingerprintRow {
  rows: string;
  rate_sum: string;
  checksum: string;
}

const toFingerprint = (row: FingerprintRow | undefined): Fingerprint => ({
  rows: Number(row?.rows),
  rateSum: String(row?.rate_sum),
  checksum: String(row?.checksum),
});

/** whole + fraction × 10^-scale as canonical decimal text (trim_scale's): 12 + 5e23 × 1e-24 → "12.5". */
function composeSum(whole: bigint, fraction: bigint, scale: number): string {
  const total = (whole * 10n ** BigInt(scale) + fraction).toString().padStart(scale + 1, '0');
  const text = `${total.slice(0, -scale)}.${total.slice(-scale)}`;
  return text.replace(/0+$/, '').replace(/\.$/, '');
}

function checkedPartition(partition: string): string {
  if (!MONTHLY_PARTITION.test(partition)) throw new Error(`not a monthly history partition: ${partition}`);
  return partition;
}

/** The fingerprint of a monthly partition in PostgreSQL. */
export async function partitionFingerprint(db: Db, partition: string): Promise<Fingerprint> {
  const [row] = await db.query<FingerprintRow & Record<string, unknown>>(pgFingerprintOf(checkedPartition(partition)));
  return toFingerprint(row);
}

/** The fingerprint of the rows of a partition whose keys a staging table holds (the rows a restore put or found there). */
export async function stagedRowsFingerprint(db: Db, partition: string, stage: string): Promise<Fingerprint> {
  if (!/^[a-z_]+$/.test(stage)) throw new Error(`invalid staging table ${stage}`);
  const [row] = await db.query<FingerprintRow & Record<string, unknown>>(
    pgFingerprintOf(`(select p.* from ${checkedPartition(partition)} p join ${stage} s using (${KEY_ORDER})) h`),
  );
  return toFingerprint(row);
}

/** The fingerprint of a Parquet file, read by DuckDB. */
export async function parquetFingerprint(duck: Duck, file: string): Promise<Fingerprint> {
  const [row] = await duck.rows<{ rows: string; whole_sum: string; fraction_sum: string; checksum: string }>(DUCK_FINGERPRINT, [file]);
  if (!row) throw new Error(`no fingerprint for ${file}`);
  return {
    rows: Number(row.rows),
    rateSum: composeSum(BigInt(row.whole_sum), BigInt(row.fraction_sum), DUCK_SCALE),
    checksum: row.checksum,
  };
}

/** null when equal, else what differs, for an error message. */
export function fingerprintDifference(expected: Fingerprint, actual: Fingerprint): string | null {
  const parts: string[] = [];
  if (expected.rows !== actual.rows) parts.push(`${actual.rows} rows instead of ${expected.rows}`);
  if (expected.rateSum !== actual.rateSum) parts.push(`rate sum ${actual.rateSum} instead of ${expected.rateSum}`);
  if (expected.checksum !== actual.checksum) parts.push(`checksum ${actual.checksum} instead of ${expected.checksum}`);
  return parts.length ? parts.join(', ') : null;
}
