/**
 * The jobs in progress in this process, by run id: a log line that comes from no job (a connection's error event)
 * names them. A module of its own, without imports, so every command can read it without loading the run lifecycle.
 */
const inProgress = new Set<string>();

export const runsInProgress = (): string[] => [...inProgress];

export function markInProgress(runId: string): () => void {
  inProgress.add(runId);
  return () => inProgress.delete(runId);
}
