-- Reader roles (`fxpipe db grant-reader`) must not be able to write anywhere through PUBLIC's defaults.

-- Before PostgreSQL 15 every role may create objects in schema public. A no-op on 15 and later; a
-- warning, not an error, when the migrating role does not own the schema (grant-reader then refuses,
-- naming the privilege, until the owner revokes it).
revoke create on schema public from public;

-- PUBLIC gets EXECUTE on every new function by default: a function the warehouse adds later must not
-- become callable by readers by accident (0007 revoked it on the existing fx_* functions). Readers get
-- EXECUTE on api functions through the default privileges grant-reader sets on schema api.
alter default privileges revoke execute on functions from public;

-- Any role may create large objects, rows that outlive its session: readers must not. fxpipe uses none.
-- Takes effect when the migrating role is a superuser (they belong to one); otherwise a warning only.
revoke execute on function pg_catalog.lo_creat(integer), pg_catalog.lo_create(oid),
                           pg_catalog.lo_from_bytea(oid, bytea) from public;
