import { usageError } from '../../errors.js';

const ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
/** Names PostgreSQL reserves, or that SQL reads as the current role when unquoted. */
const RESERVED = new Set(['public', 'none', 'current_user', 'current_role', 'session_user', 'user']);

/** A reader role name, checked before it goes near SQL: lower-case letters, digits and _, 1 to 63 of them. */
export function parseRoleName(value: string): string {
  if (!ROLE_NAME.test(value)) {
    throw usageError(
      `invalid role name ${JSON.stringify(value)}: expected 1 to 63 lower-case letters, digits or _, not starting with a digit`,
    );
  }
  if (value.startsWith('pg_') || RESERVED.has(value)) {
    throw usageError(`invalid role name ${JSON.stringify(value)}: reserved by PostgreSQL`);
  }
  return value;
}
