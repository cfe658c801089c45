import { readFile } from 'node:fs/promises';

/**
 * The private memory of a backend of the server whose postmaster is postmasterPid, in kB: RssAnon in Linux's
 * /proc/PID/status (resident anonymous memory: what palloc and malloc hold; shared buffers are RssShmem, not counted).
 * null when pid is not that postmaster's child (gone, reused, or another server's) or /proc cannot say.
 */
export async function backendMemoryKb(pid: number, postmasterPid: number): Promise<number | null> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => null);
  if (status === null) return null;
  const parent = Number(/^PPid:\s+(\d+)$/m.exec(status)?.[1]);
  const anon = /^RssAnon:\s+(\d+) kB$/m.exec(status)?.[1];
  return parent === postmasterPid && anon !== undefined ? Number(anon) : null;
}
