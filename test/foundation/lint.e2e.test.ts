import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/util/package-root.js';

/**
 * `npm run lint` (ESLint type-aware, then prettier --check) as a test of the e2e tier: `npm test` runs it with
 * everything else, on one of vitest's workers beside the other files rather than before them all, and a run that names
 * its files (as the fresh-clone test's nested `npm test` does) does not lint the whole tree again.
 */
function lint(): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', 'lint', '--silent'], { cwd: packageRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('the repository', () => {
  it('npm run lint finds nothing: zero ESLint warnings, every file as Prettier writes it', { timeout: 600_000 }, async () => {
    const { code, output } = await lint();
    expect(code, output).toBe(0);
  });
});
