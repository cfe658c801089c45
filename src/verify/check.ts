import { randomUUID } from 'node:crypto';
import type { Db } from '../warehouse/db.js';
import { ProductionRateError, type ProductionRate } from './production-rates.js';
import { hasSqlState, SqlState } from '../warehouse/sqlstate.js';

export const VERDICTS = ['ok', 'deviates', 'no_rate'] as const;
export type Verdict = (typeof VERDICTS)[number];

/** The rows not ok a check's summary carries, first lines first: what an alert and a status line show. */
export const NOT_OK_SHOWN = 100;
/** Rows sent to PostgreSQL in one statement, and read back in one page. */
const BATCH_ROWS = 5000;

/** A production rate against the consensus in force at its instant, as stored in production_checks. */
export interface CheckedRate {
  checkRowId: string;
  line: number;
  base: string;
  quote: string;
  rate: string;
  at: string;
  consensusRate: string | null;
  deviationPct: string | null;
  verdict: Verdict;
  sourceCount: number | null;
  sources: string[] | null;
  excluded: unknown[] | null;
}

/** A check as stored: its counts and its first rows not ok; checkRows() reads every row back. */
export interface ProductionCheck {
  checkId: string;
  label: string | null;
  checkedAt: string;
  tolerancePct: string;
  counts: Record<Verdict, number>;
  /** Rows checked. */
  total: number;
  /** The first NOT_OK_SHOWN rows that deviate or have no rate, by line. */
  notOk: CheckedRate[];
}

export interface CheckOptions {
  /** |deviation| at or under this is `ok` (percent, a decimal as text). */
  tolerancePct: string;
  label: string | null;
  /** The instant of the check: the `at` of a row that gives none. */
  now: Date;
  /** The longest the check may take (FXPIPE_VERIFY_TIMEOUT_MS): beyond it, it is cancelled and nothing is stored. */
  timeoutMs: number;
  /** The caller went away (a client disconnected, a signal): the check is cancelled and nothing is stored. */
  signal?: AbortSignal;
  /** The most rows the check takes (FXPIPE_VERIFY_MAX_ROWS): with more, it is refused whole before any is compared. */
  maxRows: number;
  /** The input, as messages name it. */
  name?: string;
}

/** A check stopped before it stored anything: it took too long, or its caller went away. */
export class CheckCancelledError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckCancelledError';
  }
}

/** A batch of the input's rows, as they are read. */
const STAGE = `
  insert into pg_temp.fxpipe_check_input (line, base, quote, rate, at)
  select * from unnest($1::integer[], $2::text[], $3::text[], $4::numeric[], $5::timestamptz[])`;

/** Every row with the consensus in force at its instant: fx_consensus_at, index probes made for each row. */
const COMPARE = `
  insert into pg_temp.fxpipe_check (line, base, quote, rate, at, consensus_rate, source_count, sources, excluded)
  select r.line, r.base, r.quote, r.rate, r.at, c.rate, c.source_count, c.sources, c.excluded
    from pg_temp.fxpipe_check_input r
    -- A code fxpipe has never seen has no id, and its row no consensus.
    left join public.dim_currency b on b.currency_code = r.base
    left join public.dim_currency q on q.currency_code = r.quote
    left join lateral public.fx_consensus_at(b.currency_id, q.currency_id, r.at) c on b.currency_id is not null and q.currency_id is not null`;

/** Every row of the check with its verdict, in the order of its lines. */
const STORE = `
  insert into production_checks (check_id, label, checked_at, line, base, quote, rate, at, consensus_rate, deviation_pct,
                                 tolerance_pct, verdict, source_count, sources, excluded)
  select $1, $2, $3, r.line, r.base, r.quote, r.rate, r.at, r.consensus_rate,
         round((r.rate - r.consensus_rate) * 100 / r.consensus_rate, 6), $4,
         case when r.consensus_rate is null then 'no_rate'
              when abs((r.rate - r.consensus_rate) * 100 / r.consensus_rate) <= $4 then 'ok'
              else 'deviates' end,
         r.source_count, r.sources, r.excluded
    from pg_temp.fxpipe_check r
   order by r.line`;

const ROW_COLUMNS = `check_row_id::text as "checkRowId", line, base, quote, rate::text as rate, at, consensus_rate::text as "consensusRate",
  deviation_pct::text as "deviationPct", verdict, source_count as "sourceCount", sources, excluded`;

/** A stored row as a statement returns it: a CheckedRate with its instant still a Date. */
type StoredRow = Omit<CheckedRate, 'at'> & { at: Date };
const checkedRate = (row: StoredRow): CheckedRate => ({ ...row, at: row.at.toISOString() });

/**
 * Compares each production rate with the consensus at its instant and stores every row with its verdict in
 * production_checks: all of the check or none of it. The rates are read as they arrive and staged in a temporary
 * table BATCH_ROWS at a time (a file with more than maxRows is refused before any is compared); one statement then
 * compares them all, each row with index probes of its own (fx_consensus_at), so the time is linear in the rows;
 * only the last step, copying them into production_checks, takes that table's lock. The check runs under a statement
 * timeout, and the server abandons it within a second when this process goes away (client_connection_check_interval):
 * a killed check keeps no lock and leaves no statement running. A pair with a code fxpipe has never seen is
 * `no_rate`, as is one no source has in force then.
 */
export async function checkProductionRates(
  db: Db,
  rates: AsyncIterable<ProductionRate> | Iterable<ProductionRate>,
  options: CheckOptions,
): Promise<ProductionCheck> {
  const checkId = randomUUID();
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  const name = options.name ?? 'the rates';
  try {
    return await db.transaction(
      async (tx) => {
        await tx.query(
          `select set_config('statement_timeout', $1, true), set_config('lock_timeout', $1, true),
                set_config('client_connection_check_interval', '1s', true)`,
          [`${options.timeoutMs}ms`],
        );
        await tx.query(`create temporary table fxpipe_check_input (line integer, base text, quote text, rate numeric, at timestamptz) on commit drop;
                      create temporary table fxpipe_check (line integer, base text, quote text, rate numeric, at timestamptz,
                        consensus_rate numeric, source_count integer, sources text[], excluded jsonb) on commit drop`);
        // The rows first, as they are read: a file with too many is refused before any is compared.
        let total = 0;
        let batch: ProductionRate[] = [];
        const stage = async () => {
          signal.throwIfAborted();
          await tx.query(STAGE, [
            batch.map((r) => r.line),
            batch.map((r) => r.base),
            batch.map((r) => r.quote),
            batch.map((r) => r.rate),
            batch.map((r) => r.at ?? options.now),
          ]);
          batch = [];
        };
        for await (const rate of rates) {
          if (++total > options.maxRows) {
            throw new ProductionRateError(
              name,
              `more than ${options.maxRows} rows: a check takes at most FXPIPE_VERIFY_MAX_ROWS (${options.maxRows}); split the file`,
            );
          }
          batch.push(rate);
          if (batch.length === BATCH_ROWS) await stage();
        }
        if (total === 0) throw new ProductionRateError(name, 'no rates in it');
        if (batch.length > 0) await stage();
        signal.throwIfAborted();
        await tx.query(COMPARE);
        signal.throwIfAborted();
        // One check at a time from here to the commit: the rows' check_row_id are committed in the order they are given,
        // so a reader polling for ids above the last one it saw misses none. Readers are not blocked.
        await tx.query('lock table production_checks in exclusive mode');
        await tx.query(STORE, [checkId, options.label, options.now, options.tolerancePct]);
        const counted = await tx.query<{ verdict: Verdict; n: number }>(
          'select verdict, count(*)::integer as n from production_checks where check_id = $1 group by verdict',
          [checkId],
        );
        const notOk = await tx.query<StoredRow>(
          `select ${ROW_COLUMNS} from production_checks where check_id = $1 and verdict <> 'ok' order by check_row_id limit ${NOT_OK_SHOWN}`,
          [checkId],
        );
        const counts: Record<Verdict, number> = { ok: 0, deviates: 0, no_rate: 0 };
        for (const { verdict, n } of counted) counts[verdict] = n;
        return {
          checkId,
          label: options.label,
          checkedAt: options.now.toISOString(),
          tolerancePct: options.tolerancePct,
          counts,
          total,
          notOk: notOk.map(checkedRate),
        };
      },
      { signal },
    );
  } catch (error) {
    if (timeout.aborted || hasSqlState(error, SqlState.query_canceled)) {
      throw new CheckCancelledError(
        `the check took longer than ${options.timeoutMs / 1000} s (FXPIPE_VERIFY_TIMEOUT_MS) and was cancelled; nothing was stored`,
      );
    }
    if (signal.aborted) throw new CheckCancelledError('the check was cancelled; nothing was stored');
    throw error;
  }
}

/** A stored check's rows in the order of their lines, a page at a time. */
export async function* checkRows(db: Db, checkId: string): AsyncGenerator<CheckedRate[]> {
  let after = '0';
  for (;;) {
    const page = await db.query<StoredRow>(
      `select ${ROW_COLUMNS} from production_checks where check_id = $1 and check_row_id > $2 order by check_row_id limit ${BATCH_ROWS}`,
      [checkId, after],
    );
    if (page.length === 0) return;
    yield page.map(checkedRate);
    after = page.at(-1)!.checkRowId;
  }
}
