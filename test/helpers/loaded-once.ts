import { inject } from 'vitest';
import { createTestDatabase, withAdmin, type TestDatabase } from './database.js';

/**
 * A loaded warehouse made once per run and cloned (CREATE DATABASE … TEMPLATE) for each test file that asks for it.
 *
 * Loading years of history through the CLI, or weeks of demo runs, keeps both cores busy for seconds; files that load
 * the same thing to read it need not repeat it. The first file to ask runs `build` on a fresh test database (the others
 * wait on an advisory lock), renames it to its kept name once built, and keeps what `build` returned as the database's
 * comment, for every later file. The suite's global setup drops the kept databases with its template at the end.
 *
 * `key` names what was loaded: a build that depends on the clock puts its day (or its 4-hour slot) in it, so a run
 * crossing that boundary builds again rather than handing out an older load.
 */
export async function loadedOnce<T>(
  key: string,
  build: (database: TestDatabase) => Promise<T>,
): Promise<{ database: TestDatabase; built: T }> {
  if (!/^[a-z0-9_]{1,30}$/.test(key)) throw new Error(`loadedOnce: invalid key ${JSON.stringify(key)}`);
  const kept = `${inject('templateDatabase')}_${key}`;
  const adminUrl = inject('adminUrl');
  const built = await withAdmin(adminUrl, async (client) => {
    await client.query('select pg_advisory_lock(hashtext($1))', [kept]);
    try {
      const found = await client.query<{ comment: string | null }>(
        `select shobj_description(oid, 'pg_database') as comment from pg_database where datname = $1`,
        [kept],
      );
      if (found.rows[0]?.comment) return JSON.parse(found.rows[0].comment) as T;
      const building = await createTestDatabase('fxbuild');
      try {
        const value = await build(building);
        await building.close();
        const comment = JSON.stringify(value ?? null);
        await client.query(`comment on database ${building.name} is ${client.escapeLiteral(comment)}`);
        await client.query(`alter database ${building.name} rename to ${kept}`);
        return value;
      } catch (error) {
        await building.drop().catch(() => undefined);
        throw error;
      }
    } finally {
      await client.query('select pg_advisory_unlock(hashtext($1))', [kept]);
    }
  });
  return { database: await createTestDatabase('fxtest', { template: kept }), built };
}
