/**
 * What fxpipe's commands print with --json, as the test files that read it see it: only the fields they read. The
 * cast is at the boundary (`JSON.parse(result.stdout) as RunJson`); the tests check the values.
 */

/** `fxpipe run --json`: the run's summary. */
export interface RunJson {
  runId: string;
  status: string;
  sourceUsed: string | null;
  error?: string;
  stageMs: Record<string, number>;
  alerts: { kind: string }[];
}

/** `fxpipe backfill --json`. */
export interface BackfillJson {
  counts: Record<string, number>;
  chunks: { from: string; to: string; status: string; extractionId: string }[];
}

/** `fxpipe status --json`. */
export interface StatusJson {
  database: string;
  runs: object[];
  freshness: { state: string }[];
  rejectedLast24h: { total: number };
  scheduler: unknown;
  alerts: { kind: string }[];
  settings: unknown;
}
