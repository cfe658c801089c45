-- Hot/cold tiering: months of fact_rates_history moved to Parquet (local directory or S3).
-- A month's row goes writing → uploaded → verified → archived (partition dropped); restore brings it back.

create table archive_manifest (
    month           date primary key check (extract(day from month) = 1),
    partition_name  text not null,
    uri             text not null,
    rows            bigint not null check (rows >= 0),
    bytes           bigint not null check (bytes >= 0),
    -- Exact sum of the month's rate values, and a hash over its rows in key order: both computed on the
    -- PostgreSQL partition and on the Parquet file read back, and equal before anything is dropped.
    rate_sum        numeric not null,
    checksum        text not null,
    state           text not null check (state in ('uploaded', 'verified', 'archived', 'restored')),
    archived_at     timestamptz,
    restored_at     timestamptz,
    updated_at      timestamptz not null default now()
);
