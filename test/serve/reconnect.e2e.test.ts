import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { stopEmbedded } from '../../src/postgres/server/embedded.js';
import { finished, runCli, startCli, waitForOutput } from '../helpers/cli.js';
import { scratchDir } from '../helpers/database.js';
import { closedPortOrigin } from '../helpers/webhook-receiver.js';

/** The status of GET url, once the database answers again: polled a bounded number of times. */
async function statusOnceAnswered(url: string, tries = 60): Promise<number> {
  let status = 0;
  for (let i = 0; i < tries; i++) {
    status = (await fetch(url)).status;
    if (status !== 503) return status;
    await sleep(500);
  }
  return status;
}

describe('fxpipe serve on the embedded server', () => {
  const home = path.join(scratchDir(), '.fxpipe');
  const env = { FXPIPE_HOME: home, FXPIPE_LOG_LEVEL: 'warn' };
  afterAll(async () => {
    await stopEmbedded(home).catch(() => undefined);
  });

  it('answers again after the server is stopped and comes back, on its port or moved to another, and starts it again itself', async () => {
    expect((await runCli(['db', 'init'], { env })).code).toBe(0);
    const firstUrl = (await runCli(['db', 'url'], { env })).stdout.trim();
    const serve = startCli(['serve', '--port', '0'], { env });
    try {
      await waitForOutput(serve, /http:\/\/127\.0\.0\.1:\d+\//);
      const origin = /http:\/\/127\.0\.0\.1:\d+/.exec(serve.out.stdout)![0];
      expect((await fetch(`${origin}/api/v1/runs`)).status).toBe(200);

      // Stop it, and let another command start it again: on the same port, which the server keeps.
      expect((await runCli(['db', 'stop'], { env })).stdout).toContain('Stopped');
      const secondUrl = (await runCli(['db', 'url'], { env })).stdout.trim();
      expect(secondUrl).toBe(firstUrl);
      expect(await statusOnceAnswered(`${origin}/api/v1/runs`)).toBe(200);
      const health = (await (await fetch(`${origin}/healthz`)).json()) as { database: string };
      expect(health.database).toBe('reachable');

      // Moved to another port (FXPIPE_PORT): the port serve's pool knows is gone, and serve finds the new one.
      expect((await runCli(['db', 'stop'], { env })).stdout).toContain('Stopped');
      const other = Number(new URL(await closedPortOrigin()).port);
      const thirdUrl = (await runCli(['db', 'url'], { env: { ...env, FXPIPE_PORT: String(other) } })).stdout.trim();
      expect(new URL(thirdUrl).port).toBe(String(other));
      expect(await statusOnceAnswered(`${origin}/api/v1/runs`)).toBe(200);

      // Stopped with no other command to start it: the next request finds it down and starts it, on the port kept.
      expect((await runCli(['db', 'stop'], { env })).stdout).toContain('Stopped');
      expect(await statusOnceAnswered(`${origin}/api/v1/currencies`)).toBe(200);
      expect((await runCli(['db', 'url'], { env })).stdout.trim()).toBe(thirdUrl);

      serve.kill('SIGTERM');
      const result = await finished(serve, 30_000);
      expect(result.code).toBe(0);
      expect(result.stderr).not.toMatch(/Unhandled|uncaught| {4}at /);
    } finally {
      serve.kill('SIGKILL');
    }
  }, 180_000);
});
