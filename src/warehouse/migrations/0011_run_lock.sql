-- The run lock: a row lock on a table readers cannot see. An advisory lock (the previous run lock) can be
-- taken by any role that can connect, so a grant-reader role could halt every loading job; a row lock
-- needs UPDATE on this table, which only the warehouse's own role has.
create table fxpipe_run_lock (
    lock_name  text primary key check (lock_name = 'run')
);
insert into fxpipe_run_lock (lock_name) values ('run');
revoke all on fxpipe_run_lock from public;

-- Advisory locks are shared by every role that can connect: a reader holding the key of the migrator's or
-- the tiering lock would make fxpipe wait on it. PUBLIC loses EXECUTE on the advisory-lock functions in this
-- database; the migrating role keeps it. Takes effect when the migrating role is a superuser (they belong
-- to one); otherwise PostgreSQL only warns, and docs/make-com.md says what then stays advisory.
do $$
declare
    f regprocedure;
begin
    for f in select p.oid::regprocedure from pg_proc p
              where p.pronamespace = 'pg_catalog'::regnamespace and p.proname like '%advisory%'
    loop
        execute format('revoke execute on function %s from public', f);
        execute format('grant execute on function %s to %I', f, current_user);
    end loop;
end $$;
