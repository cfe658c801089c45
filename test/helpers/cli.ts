import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/fxpipe.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Env for a child fxpipe: only what the test sets, plus PATH/HOME, so the developer's env does not leak in. */
export function cliEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, FXPIPE_LOG_LEVEL: 'error', ...env };
}

/** Runs the built fxpipe bin as a user would. */
export function runCli(
  args: string[],
  options: { env?: Record<string, string | undefined>; cwd?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  const child = startCli(args, options);
  return finished(child, options.timeoutMs ?? 60_000);
}

export function startCli(
  args: string[],
  options: { env?: Record<string, string | undefined>; cwd?: string } = {},
): ChildProcess & { out: { stdout: string; stderr: string } } {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? process.cwd(),
    env: cliEnv(options.env ?? {}),
    stdio: ['ignore', 'pipe', 'pipe'],
  }) as ChildProcess & { out: { stdout: string; stderr: string } };
  child.out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (chunk: Buffer) => (child.out.stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (child.out.stderr += chunk.toString()));
  return child;
}

export function finished(child: ChildProcess & { out: { stdout: string; stderr: string } }, timeoutMs = 60_000): Promise<CliResult> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode, stdout: child.out.stdout, stderr: child.out.stderr });
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`fxpipe ${child.spawnargs.slice(2).join(' ')} timed out; stderr: ${child.out.stderr}`));
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: child.out.stdout, stderr: child.out.stderr });
    });
  });
}

/** Waits until the child's stdout contains text. */
export function waitForOutput(child: ChildProcess & { out: { stdout: string } }, text: string | RegExp, timeoutMs = 60_000): Promise<void> {
  const matches = () => (typeof text === 'string' ? child.out.stdout.includes(text) : text.test(child.out.stdout));
  return new Promise((resolve, reject) => {
    if (matches()) return resolve();
    const timer = setTimeout(() => reject(new Error(`no "${String(text)}" in output: ${child.out.stdout}`)), timeoutMs);
    child.stdout!.on('data', () => {
      if (matches()) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}
