/**
 * The SQLSTATE codes fxpipe acts on, each under its condition name in PostgreSQL's errcodes.txt (the table of
 * Appendix A, "PostgreSQL Error Codes"; PL/pgSQL accepts the same names: `raise … using errcode = 'no_data_found'`).
 * node-postgres gives a server's error as pg.DatabaseError with the code in `code`.
 */
export const SqlState = {
  sqlclient_unable_to_establish_sqlconnection: '08001',
  sqlserver_rejected_establishment_of_sqlconnection: '08004',
  invalid_parameter_value: '22023',
  invalid_authorization_specification: '28000',
  invalid_password: '28P01',
  dependent_objects_still_exist: '2BP01',
  invalid_catalog_name: '3D000',
  deadlock_detected: '40P01',
  insufficient_privilege: '42501',
  undefined_table: '42P01',
  lock_not_available: '55P03',
  query_canceled: '57014',
  admin_shutdown: '57P01',
  crash_shutdown: '57P02',
  cannot_connect_now: '57P03',
  no_data_found: 'P0002',
} as const;
export type SqlStateCode = (typeof SqlState)[keyof typeof SqlState];

/** SQLSTATE classes (a code's first two characters) fxpipe acts on, under errcodes.txt's names for them. */
export const SqlStateClass = {
  connection_exception: '08',
  data_exception: '22',
  integrity_constraint_violation: '23',
} as const;
export type SqlStateClassCode = (typeof SqlStateClass)[keyof typeof SqlStateClass];

/** The code an error carries (a server's SQLSTATE; Node's socket errors carry theirs there too), or undefined. */
export function sqlState(error: unknown): string | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** Whether error carries a SQLSTATE of one of classes. */
export function inSqlStateClass(error: unknown, ...classes: readonly SqlStateClassCode[]): boolean {
  const code = sqlState(error);
  return code !== undefined && /^[0-9A-Z]{5}$/.test(code) && (classes as readonly string[]).includes(code.slice(0, 2));
}

/** Whether error carries one of codes. */
export function hasSqlState(error: unknown, ...codes: readonly SqlStateCode[]): boolean {
  const code = sqlState(error);
  return code !== undefined && (codes as readonly string[]).includes(code);
}
