import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMarket } from '../../src/demo/market.js';
import { startProviderServer, type ProviderServer } from '../../src/demo/provider-server.js';
import { packageRoot } from '../../src/util/package-root.js';
import { finished, startCli, waitForOutput } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { spawn } from 'node:child_process';

/** ENTRYPOINT + CMD of the Dockerfile, as the container would exec them. */
function imageCommand(): string[] {
  const dockerfile = readFileSync(path.join(packageRoot, 'examples', 'Dockerfile'), 'utf8');
  const json = (instruction: string) => JSON.parse(new RegExp(`^${instruction} (\\[.*\\])$`, 'm').exec(dockerfile)![1]!) as string[];
  return [...json('ENTRYPOINT'), ...json('CMD')];
}

describe('the container image, run outside Docker', () => {
  let database: TestDatabase;
  let server: ProviderServer;
  beforeAll(async () => {
    database = await createTestDatabase();
    server = await startProviderServer({
      market: createMarket({ seed: 9, start: new Date('2026-06-01T00:00:00Z') }),
      clock: () => new Date(),
    });
  });
  afterAll(async () => {
    await server.close();
    await database.drop();
  });

  it('its entry command is `fxpipe schedule`: it creates the schema, catches up once, and stops on SIGTERM', async () => {
    const [command, ...args] = imageCommand();
    expect([command, ...args]).toEqual(['node', 'bin/fxpipe.js', 'schedule']);
    const compose = readFileSync(path.join(packageRoot, 'examples', 'docker-compose.yml'), 'utf8');
    expect(compose).toMatch(/dockerfile: examples\/Dockerfile/);
    expect(compose).toMatch(/DATABASE_URL: postgres:\/\/fxpipe:/);

    // The image's FXPIPE_HOME is a volume (/var/lib/fxpipe); outside Docker, a scratch directory stands in for it.
    const home = mkdtempSync(path.join(tmpdir(), 'fxpipe-image-home-'));
    const child = spawn(command === 'node' ? process.execPath : command!, args, {
      cwd: packageRoot,
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'production',
        FXPIPE_HOME: home,
        DATABASE_URL: database.url,
        ...server.env,
        FXPIPE_LOG_LEVEL: 'error',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    }) as ReturnType<typeof startCli>;
    child.out = { stdout: '', stderr: '' };
    child.stdout!.on('data', (c: Buffer) => (child.out.stdout += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (child.out.stderr += c.toString()));
    await waitForOutput(child, /Scheduler \S+ running "0 \*\/4 \* \* \*" \(UTC\)/);
    child.kill('SIGTERM');
    const result = await finished(child);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const db = await database.open();
    const runs = await db.query<{ kind: string; status: string }>('select kind, status from pipeline_runs');
    expect(runs).toEqual([{ kind: 'scheduled', status: 'loaded' }]);
  });
});
