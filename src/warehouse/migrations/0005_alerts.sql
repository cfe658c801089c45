-- Webhook alerts: every delivery attempt is logged; conditions that must alert once (a stale source)
-- stay raised until they clear, so a scheduler running every 4 hours does not repeat them.

create table alert_log (
    alert_id   bigint generated always as identity primary key,
    kind       text not null,
    source     text,
    run_id     uuid,
    sent_at    timestamptz not null,
    delivered  boolean not null,
    attempts   integer not null check (attempts >= 0),
    error      text,
    -- Exactly what was posted (never the webhook URL).
    payload    jsonb not null
);
create index alert_log_sent_idx on alert_log (sent_at desc);

create table alert_raised (
    kind       text not null,
    source     text not null,
    raised_at  timestamptz not null,
    primary key (kind, source)
);
