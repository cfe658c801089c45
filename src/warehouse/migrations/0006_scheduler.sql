-- The scheduler's shared state: which schedulers are alive (for `status`), and which slots ran.

create table scheduler_instances (
    instance_id   uuid primary key,
    hostname      text not null,
    pid           integer not null,
    cron          text not null,
    timezone      text not null,
    started_at    timestamptz not null,
    last_seen_at  timestamptz not null,
    next_run_at   timestamptz
);

-- One row per cron slot: the scheduler that inserts it runs it, so two schedulers (two processes or
-- hosts) never run one slot twice. A catch-up run after downtime claims the latest missed slot only.
create table scheduler_slots (
    slot_at      timestamptz primary key,
    claimed_by   uuid not null,
    claimed_at   timestamptz not null default now(),
    catch_up     boolean not null default false,
    run_id       uuid,
    status       text,
    finished_at  timestamptz
);
