import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/** What `npm pack` would ship, as npm itself lists it (the `files` field, .npmignore rules and npm's own defaults). */
function packedFiles(): string[] {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return (JSON.parse(out) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
}

describe('the npm package', () => {
  it("ships the CLI, its build and its sources, and no benchmark (bench/ is the repository's, not the package's)", () => {
    const files = packedFiles();
    expect(files).toEqual(
      expect.arrayContaining(['bin/fxpipe.js', 'package.json', 'README.md', 'src/cli/main.ts', 'src/warehouse/schema.sql']),
    );
    expect(files.filter((f) => /(^|\/)bench\//.test(f))).toEqual([]);
    expect(files.filter((f) => f.startsWith('test/') || f.startsWith('build/'))).toEqual([]);
  });
});
