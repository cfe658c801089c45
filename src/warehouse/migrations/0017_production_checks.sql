-- `fxpipe verify` (issue 14): every row of a company's production rates checked against the consensus, stored with
-- its verdict, and readable by reader roles (a Make.com scenario watching for deviations).
create table production_checks (
    check_row_id     bigint generated always as identity primary key,
    check_id         uuid not null,
    label            text,
    checked_at       timestamptz not null,
    -- The row as given: its line in the input (1 is a CSV's header, a JSON array's first element is 1), pair,
    -- rate and the instant it claims to hold at.
    line             integer not null,
    base             text not null,
    quote            text not null,
    rate             numeric not null check (rate > 0),
    at               timestamptz not null,
    -- The consensus in force at `at`, and how far the row is from it: (rate − consensus) / consensus × 100.
    consensus_rate   numeric,
    deviation_pct    numeric,
    tolerance_pct    numeric not null check (tolerance_pct >= 0),
    verdict          text not null check (verdict in ('ok', 'deviates', 'no_rate')),
    source_count     integer,
    sources          text[],
    excluded         jsonb
);
create index production_checks_check on production_checks (check_id);
revoke all on production_checks from public;

-- check_row_id last: the cursor of a reader polling for new rows.
create view api.production_checks as
select check_id, label, checked_at, line, base, quote, rate, at, consensus_rate, deviation_pct, tolerance_pct, verdict,
       source_count, sources, excluded, check_row_id
  from public.production_checks
 order by check_row_id desc;
