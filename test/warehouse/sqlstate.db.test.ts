import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { hasSqlState, inSqlStateClass, sqlState, SqlState, SqlStateClass } from '../../src/warehouse/sqlstate.js';

describe('SqlState', () => {
  let client: pg.Client;
  beforeAll(async () => {
    client = new pg.Client({ connectionString: inject('adminUrl') });
    await client.connect();
  });
  afterAll(() => client.end());
  /** What PostgreSQL throws for a condition raised by its name. */
  const raised = (name: string) =>
    client.query(`do $$ begin raise exception 'test' using errcode = '${name}'; end $$`).then(
      () => null,
      (e: unknown) => e,
    );

  it('names each code as PostgreSQL does: PL/pgSQL raising the condition by that name gives that code', async () => {
    // PostgreSQL's own table of condition names (plerrcodes.h, made from errcodes.txt) is the oracle.
    for (const [name, code] of Object.entries(SqlState)) {
      const error = await raised(name);
      expect({ name, code: error instanceof pg.DatabaseError ? error.code : error }).toEqual({ name, code });
    }
  });

  it("names each class as PostgreSQL does: the class's own condition (its code ending 000) is in it", async () => {
    for (const [name, prefix] of Object.entries(SqlStateClass)) {
      const error = await raised(name);
      expect({ name, code: sqlState(error) }).toEqual({ name, code: `${prefix}000` });
      expect({ name, inClass: inSqlStateClass(error, prefix) }).toEqual({ name, inClass: true });
    }
    expect(inSqlStateClass({ code: '22P02' }, SqlStateClass.data_exception)).toBe(true);
    const neither = [SqlStateClass.connection_exception, SqlStateClass.integrity_constraint_violation] as const;
    expect(inSqlStateClass({ code: '22P02' }, ...neither)).toBe(false);
    expect(inSqlStateClass({ code: '08' }, SqlStateClass.connection_exception)).toBe(false);
  });

  it('reads the code of a server error, and of nothing else', async () => {
    const error = await client.query('select 1 from no_such_table_here').then(
      () => null,
      (e: unknown) => e,
    );
    expect(sqlState(error)).toBe('42P01');
    expect(hasSqlState(error, SqlState.undefined_table)).toBe(true);
    expect(hasSqlState(error, SqlState.lock_not_available, SqlState.undefined_table)).toBe(true);
    expect(hasSqlState(error, SqlState.lock_not_available)).toBe(false);
    for (const other of [null, undefined, 'P0002', 42, new Error('P0002'), { code: 57014 }]) {
      const read = { other, code: sqlState(other), has: hasSqlState(other, SqlState.no_data_found) };
      expect(read).toEqual({ other, code: undefined, has: false });
    }
  });
});
