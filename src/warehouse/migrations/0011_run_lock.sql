-- The run lock: a row lock on a table readers cannot see. An advisory lock (the previous run lock) can be
-- taken by any role that can connect, so a grant-reader role could halt every loading job; a row lock
-- needs UPDATE on this table, which only the warehouse's own role has.
create table fxpipe_run_lock (
    lock_name  text primary key check (lock_name = 'run')
);
insert into fxpipe_run_lock (lock_name) values ('run');
revoke all on fxpipe_run_lock from public;
