-- The star schema of the seed: a raw layer (bronze), dimensions, facts, quarantine and run bookkeeping.
-- Rates are unconstrained numeric: any value a provider publishes (1e-8 .. 1e9 and beyond) is stored exactly.

create domain fx_rate as numeric check (value > 0);

create table bronze_extraction (
    extraction_id      uuid primary key default gen_random_uuid(),
    run_id             uuid,
    source_name        text not null,
    extracted_at       timestamptz not null default now(),
    extraction_method  text not null
        check (extraction_method in ('scheduled', 'manual', 'backfill', 'failover')),
    http_status        integer,
    request_url        text not null,
    request_headers    jsonb not null default '{}'::jsonb,
    request_params     jsonb not null default '{}'::jsonb,
    response_headers   jsonb not null default '{}'::jsonb,
    raw_json           jsonb,
    raw_text           text,
    byte_size          integer not null check (byte_size >= 0),
    content_sha256     text not null check (content_sha256 ~ '^[0-9a-f]{64}$'),
    duration_ms        numeric(12, 3) not null default 0,
    error              text,
    check (raw_json is null or raw_text is null)
);
create index bronze_extraction_source_time_idx on bronze_extraction (source_name, extracted_at);
create index bronze_extraction_run_idx on bronze_extraction (run_id);

create table dim_currency (
    currency_id    smallint generated always as identity primary key,
    currency_code  text not null unique check (currency_code ~ '^[A-Z]{3}$'),
    currency_name  text not null,
    symbol         text,
    minor_units    smallint check (minor_units between 0 and 6),
    is_iso         boolean not null default false,
    is_active      boolean not null default true,
    first_seen_at  timestamptz not null default now(),
    updated_at     timestamptz not null default now()
);

create table dim_source (
    source_id    smallint generated always as identity primary key,
    source_name  text not null unique check (source_name ~ '^[a-z][a-z0-9-]{0,62}$'),
    tier         text not null check (tier in ('primary', 'fallback', 'reference')),
    endpoint     text not null,
    is_active    boolean not null default true,
    updated_at   timestamptz not null default now()
);

create table dim_date (
    date_key      integer primary key check (date_key between 19000101 and 29991231),
    full_date     date not null unique,
    year          smallint not null,
    quarter       smallint not null check (quarter between 1 and 4),
    month         smallint not null check (month between 1 and 12),
    iso_year      smallint not null,
    iso_week      smallint not null check (iso_week between 1 and 53),
    day_of_month  smallint not null check (day_of_month between 1 and 31),
    day_of_week   smallint not null check (day_of_week between 1 and 7),
    is_weekend    boolean not null,
    month_name    text not null,
    quarter_name  text not null
);

create table pipeline_runs (
    run_id           uuid primary key default gen_random_uuid(),
    kind             text not null
        check (kind in ('scheduled', 'manual', 'backfill', 'reprocess', 'demo')),
    started_at       timestamptz not null default now(),
    finished_at      timestamptz,
    status           text not null default 'running'
        check (status in ('running', 'loaded', 'unchanged', 'failed')),
    source_used      text,
    failover         boolean not null default false,
    extracted_count  integer not null default 0,
    loaded_count     integer not null default 0,
    unchanged_count  integer not null default 0,
    rejected_count   integer not null default 0,
    stage_ms         jsonb not null default '{}'::jsonb,
    error            text
);
create index pipeline_runs_started_idx on pipeline_runs (started_at desc);

create table rejected_rates (
    rejected_id    bigint generated always as identity primary key,
    extraction_id  uuid references bronze_extraction (extraction_id),
    run_id         uuid,
    source_name    text not null,
    base_code      text,
    quote_code     text,
    raw_value      text,
    reason         text not null,
    detail         text,
    rejected_at    timestamptz not null default now()
);
create index rejected_rates_time_idx on rejected_rates (rejected_at);

create table fact_rates_current (
    base_currency_id    smallint not null references dim_currency (currency_id),
    quote_currency_id   smallint not null references dim_currency (currency_id),
    source_id           smallint not null references dim_source (source_id),
    rate                fx_rate not null,
    rate_timestamp      timestamptz not null,
    previous_rate       fx_rate,
    change_pct          numeric,
    change_reason       text not null default 'initial'
        check (change_reason in ('initial', 'moved', 'below_threshold', 'unchanged')),
    flags               text[] not null default '{}',
    last_extraction_id  uuid references bronze_extraction (extraction_id),
    updated_at          timestamptz not null default now(),
    primary key (base_currency_id, quote_currency_id, source_id)
);

-- Append-only history, one partition per month of date_key (yyyymmdd of rate_timestamp in UTC).
create table fact_rates_history (
    date_key           integer not null references dim_date (date_key),
    base_currency_id   smallint not null references dim_currency (currency_id),
    quote_currency_id  smallint not null references dim_currency (currency_id),
    source_id          smallint not null references dim_source (source_id),
    rate_timestamp     timestamptz not null,
    rate               fx_rate not null,
    previous_rate      fx_rate,
    change_pct         numeric,
    flags              text[] not null default '{}',
    extraction_id      uuid references bronze_extraction (extraction_id),
    run_id             uuid,
    loaded_at          timestamptz not null default now(),
    primary key (base_currency_id, quote_currency_id, source_id, date_key, rate_timestamp)
) partition by range (date_key);

-- Catches rows outside every monthly partition; `fxpipe db maintain` moves them out.
create table fact_rates_history_default partition of fact_rates_history default;
