import type { Db } from '../warehouse/db.js';
import type { PartitionSize } from '../warehouse/status.js';
import type { ArchivedMonth } from './history.js';
import type { ArchiveSize, HotTier } from './types.js';

const DAY_MS = 86_400_000;

/** The oldest hot month holding rows, its age (days since its last day) and what is beyond `hotDays`. */
export function measureHotTier(partitions: PartitionSize[], now: Date, hotDays: number): HotTier {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const ageOf = (p: PartitionSize) => Math.floor((today - (Date.parse(`${p.to}T00:00:00Z`) - DAY_MS)) / DAY_MS);
  const months = partitions.filter((p) => p.from && p.to && p.rows > 0);
  const oldest = months[0];
  const beyond = months.filter((p) => ageOf(p) > hotDays);
  return {
    oldestMonth: oldest?.from?.slice(0, 7) ?? null,
    oldestMonthAgeDays: oldest ? ageOf(oldest) : null,
    beyondHotDays: {
      months: beyond.length,
      rows: beyond.reduce((sum, p) => sum + p.rows, 0),
      bytes: beyond.reduce((sum, p) => sum + p.bytes, 0),
    },
  };
}

/** Months whose Parquet copy is the only one (state archived), from archive_manifest. */
export async function archivedMonths(db: Db): Promise<(ArchivedMonth & { bytes: number })[]> {
  const rows = await db.query<{ month: string; rows: string; bytes: string }>(
    `select to_char(month, 'YYYY-MM') as month, rows::text, bytes::text from archive_manifest where state = 'archived' order by month`,
  );
  return rows.map((r) => ({ month: r.month, rows: Number(r.rows), bytes: Number(r.bytes) }));
}

export function archiveSize(months: (ArchivedMonth & { bytes: number })[]): ArchiveSize {
  return {
    months: months.length,
    rows: months.reduce((sum, m) => sum + m.rows, 0),
    bytes: months.reduce((sum, m) => sum + m.bytes, 0),
    newestMonth: months.at(-1)?.month ?? null,
  };
}
