import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode, FxpipeError } from '../../src/errors.js';
import { openDirect, openPooled } from '../../src/warehouse/connection.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

describe('a server older than PostgreSQL 14', () => {
  let database: TestDatabase;
  let url: string;
  beforeAll(async () => {
    database = await createTestDatabase('fxversion', { empty: true });
    const db = await database.open();
    // The server cannot be made older; the check's unqualified current_setting() can be made to read as an older one's,
    // by a function of that name in a schema searched before pg_catalog.
    await db.query(`create schema older;
      create function older.current_setting(name text) returns text language sql
        as $$ select case when name = 'server_version_num' then '130012' else pg_catalog.current_setting(name) end $$`);
    const shadowed = new URL(database.url);
    shadowed.searchParams.set('options', '-c search_path=older,pg_catalog');
    url = shadowed.toString();
  });
  afterAll(() => database.drop());

  it("is refused with fxpipe's own one line (exit 2), not as a failure to connect", async () => {
    for (const open of [openDirect, openPooled]) {
      const error = await open({ url, label: 'the old server', embedded: false }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(FxpipeError);
      expect({ message: (error as FxpipeError).message, exitCode: (error as FxpipeError).exitCode }).toEqual({
        message: 'the old server runs PostgreSQL 130012; fxpipe needs 14 or newer',
        exitCode: ExitCode.usage,
      });
    }
  });
});
