-- Chunks of history a backfill has loaded, so an interrupted backfill resumes where it stopped.
-- A chunk is one calendar year of one source's input (cut to the range asked for); it is recorded in
-- the same transaction that loads it, so a recorded chunk is a loaded chunk. The same input
-- (content_sha256) under the same change threshold is never loaded twice.

create table backfill_chunks (
    source_name           text not null,
    chunk_from            date not null,
    chunk_to              date not null,
    content_sha256        text not null check (content_sha256 ~ '^[0-9a-f]{64}$'),
    change_threshold_pct  numeric not null check (change_threshold_pct between 0 and 100),
    rows_read             integer not null check (rows_read >= 0),
    rows_loaded           integer not null check (rows_loaded >= 0),
    rows_rejected         integer not null check (rows_rejected >= 0),
    extraction_id         uuid references bronze_extraction (extraction_id),
    run_id                uuid not null,
    loaded_at             timestamptz not null default now(),
    check (chunk_from <= chunk_to),
    primary key (source_name, chunk_from, chunk_to, content_sha256, change_threshold_pct)
);
