import { constants } from 'node:fs';
import { open, stat } from 'node:fs/promises';

/** The size of logFile now (0 when missing): what a later failure's lines come after. */
export async function logSize(logFile: string): Promise<number> {
  return (await stat(logFile).catch(() => null))?.size ?? 0;
}

/**
 * What the server said about its failure in logFile after byte offset since: its first FATAL or PANIC
 * line (the cause; what follows is consequence), else its last ERROR line, without the time/pid prefix.
 * A configuration file "contains errors" FATAL comes after the lines naming them, which are quoted too.
 */
export async function serverFailure(logFile: string, since: number): Promise<string | null> {
  const lines = (await readFrom(logFile, since)).split('\n').map((line) => line.trim());
  let at = lines.findIndex((line) => /\b(?:FATAL|PANIC):/.test(line));
  if (at < 0) at = lines.findLastIndex((line) => /\bERROR:/.test(line));
  if (at < 0) return null;
  const quoted = [lines[at]!];
  if (/contains errors/.test(lines[at]!)) {
    for (let i = at - 1; i >= 0 && quoted.length < 4 && /\b(?:LOG|ERROR):/.test(lines[i]!) && samePid(lines[i]!, lines[at]!); i--) {
      quoted.unshift(lines[i]!);
    }
  }
  return quoted.map(withoutPrefix).join('; ');
}

function withoutPrefix(line: string): string {
  return line.replace(/^.*?\b(FATAL|PANIC|ERROR|LOG):\s*/, '$1: ');
}

function samePid(a: string, b: string): boolean {
  const pid = (line: string) => /\[(\d+)\]/.exec(line)?.[1];
  return pid(a) !== undefined && pid(a) === pid(b);
}

/** True when the server failed because its port was taken (worth another port). */
export async function portWasTaken(logFile: string, since: number): Promise<boolean> {
  return /Address already in use|could not create any TCP\/IP sockets/.test(await readFrom(logFile, since));
}

/** pg_ctl's stderr without its generic "Examine the log output." pointer. */
export function pgCtlSaid(stderr: string | undefined): string {
  return (stderr ?? '')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !/^Examine the log output/.test(line))
    .join('; ');
}

async function readFrom(file: string, offset: number): Promise<string> {
  const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW).catch(() => null);
  if (!handle) return '';
  try {
    const { size } = await handle.stat();
    const start = size >= offset ? offset : 0; // a log that shrank was replaced: read it whole
    const length = Math.min(size - start, 1 << 20);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    return buffer.toString('utf8');
  } finally {
    await handle.close();
  }
}
