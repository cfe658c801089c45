-- The `api` schema: everything a reader (Make.com, BI tools, analysts) needs, with stable column names.
-- A reader role gets USAGE on api and SELECT/EXECUTE on its objects only (`fxpipe db grant-reader`).
-- Views are owned by the migrating role, so they read the warehouse tables on the reader's behalf.

create schema api;

-- A strictly increasing id per history row, in commit order (loads are serialised by the run lock):
-- the change feed's cursor for "watch new rows" pollers.
create sequence fact_rates_history_change_id_seq;
alter table fact_rates_history add column change_id bigint not null default nextval('fact_rates_history_change_id_seq');
alter sequence fact_rates_history_change_id_seq owned by fact_rates_history.change_id;
create index fact_rates_history_change_id_idx on fact_rates_history (change_id);

-- Which source answers when several publish a pair: the primary, then the fallback, then references.
create function api.source_rank(p_tier text) returns integer
language sql immutable parallel safe as $$
    select case p_tier when 'primary' then 1 when 'fallback' then 2 else 3 end
$$;

create view api.currencies as
select currency_code as code, currency_name as name, symbol, minor_units, is_iso, is_active
from public.dim_currency;

create view api.sources as
select source_name as source, tier, is_active, updated_at
from public.dim_source;

-- Every source's latest USD-based rate; preferred marks the one api.cross_rates and api.convert use.
-- Read from vw_rates_latest (fact_rates_current with the codes, refreshed in the transaction that loads it), the
-- tier live from dim_source. The window is partitioned by the codes the readers filter on, so `base = … and
-- quote = …` is applied below it (an index scan of two rows) instead of numbering every pair first.
create view api.latest_rates as
select v.base_code as base,
       v.quote_code as quote,
       v.source_name as source,
       s.tier as source_tier,
       v.rate,
       v.rate_timestamp as as_of,
       v.previous_rate,
       v.change_pct,
       v.flags,
       v.updated_at,
       row_number() over (partition by v.base_code, v.quote_code
                          order by api.source_rank(s.tier), v.rate_timestamp desc) = 1 as preferred
from public.vw_rates_latest v
join public.dim_source s on s.source_name = v.source_name;

-- Any → any from the preferred USD rates: rate(A→B) = rate(USD→B) / rate(USD→A). USD itself is 1.
create view api.cross_rates as
with usd as not materialized (
    select quote as currency, rate, as_of, source from api.latest_rates where base = 'USD' and preferred
    union all
    select 'USD', 1::numeric, null::timestamptz, null::text
)
select a.currency as from_currency,
       b.currency as to_currency,
       trim_scale(b.rate / a.rate) as rate,
       least(a.as_of, b.as_of) as as_of,
       a.source as from_source,
       b.source as to_source
from usd a cross join usd b;

create view api.daily_rates as
select make_date(a.date_key / 10000, a.date_key / 100 % 100, a.date_key % 100) as date, a.date_key,
       a.base_code as base, a.quote_code as quote, a.source_name as source,
       a.open_rate as open, a.max_rate as high, a.min_rate as low, a.close_rate as close,
       a.avg_rate as average, a.stddev_rate as stddev, a.observations
from public.vw_rates_daily_agg a;

create view api.monthly_rates as
select make_date(a.month_key / 100, a.month_key % 100, 1) as month, a.month_key,
       a.base_code as base, a.quote_code as quote, a.source_name as source,
       a.open_rate as open, a.max_rate as high, a.min_rate as low, a.close_rate as close,
       a.avg_rate as average, a.stddev_rate as stddev, a.observations, a.volatility_pct
from public.vw_rates_monthly_agg a;

create view api.source_comparison as
select base_code as base, quote_code as quote, source_name as source, source_tier, rate, rate_timestamp as as_of,
       reference_rate, source_count, deviation_pct, flags
from public.vw_rates_comparison;

-- Every stored rate change, oldest first: poll with `where change_id > <last seen> order by change_id`.
create view api.rate_changes as
select h.change_id, b.currency_code as base, q.currency_code as quote, s.source_name as source,
       h.rate, h.previous_rate, h.change_pct, h.rate_timestamp as as_of, d.full_date as date, h.flags, h.loaded_at
from public.fact_rates_history h
join public.dim_currency b on b.currency_id = h.base_currency_id
join public.dim_currency q on q.currency_id = h.quote_currency_id
join public.dim_source s on s.source_id = h.source_id
join public.dim_date d on d.date_key = h.date_key;

-- USD→code from the preferred source: the latest when p_at is null, else the rate in force at p_at
-- (the last stored before it). Definer rights: readers call it without access to the tables.
create function api.usd_rate(p_code text, p_at timestamptz default null,
                             out rate numeric, out as_of timestamptz, out source text)
language plpgsql stable security definer set search_path = pg_catalog, public set plan_cache_mode = force_generic_plan as $$
declare
    v_usd smallint;
    v_quote smallint;
    v_key integer;
    v_month_key integer;
begin
    if p_code = 'USD' then
        rate := 1; as_of := coalesce(p_at, now()); source := null;
        return;
    end if;
    select currency_id into v_usd from dim_currency where currency_code = 'USD';
    select currency_id into v_quote from dim_currency where currency_code = p_code;
    if v_quote is null or v_usd is null then
        return;
    end if;
    if p_at is null then
        select f.rate, f.rate_timestamp, s.source_name into rate, as_of, source
          from fact_rates_current f join dim_source s on s.source_id = f.source_id
         where f.base_currency_id = v_usd and f.quote_currency_id = v_quote
         order by api.source_rank(s.tier), f.rate_timestamp desc
         limit 1;
        return;
    end if;
    v_key := to_char(p_at at time zone 'UTC', 'YYYYMMDD')::integer;
    v_month_key := to_char((p_at at time zone 'UTC') - interval '31 days', 'YYYYMMDD')::integer;
    -- The month before p_at first (two partitions), then all of history.
    for pass in 1..2 loop
        select h.rate, h.rate_timestamp, s.source_name into rate, as_of, source
          from dim_source s
          cross join lateral (
                select x.rate, x.rate_timestamp
                  from fact_rates_history x
                 where x.base_currency_id = v_usd and x.quote_currency_id = v_quote and x.source_id = s.source_id
                   and x.date_key <= v_key and x.rate_timestamp <= p_at
                   and x.date_key >= case when pass = 1 then v_month_key else 0 end
                 order by x.date_key desc, x.rate_timestamp desc
                 limit 1) h
         order by api.source_rank(s.tier), h.rate_timestamp desc
         limit 1;
        exit when rate is not null;
    end loop;
end
$$;

-- amount in `from` expressed in `to`, with the rate used: the latest, or the one in force at `at`.
create function api.convert(amount numeric, "from" text, "to" text, "at" timestamptz default null)
returns table (from_amount numeric, from_currency text, to_currency text, rate numeric, converted numeric,
               as_of timestamptz, from_source text, to_source text)
language plpgsql stable security definer set search_path = pg_catalog, public as $$
#variable_conflict use_column
declare
    v_from text := upper(btrim(convert."from"));
    v_to text := upper(btrim(convert."to"));
    f record;
    t record;
    code text;
begin
    if convert.amount is null then
        raise exception 'api.convert: amount is null' using errcode = '22004';
    end if;
    foreach code in array array[v_from, v_to] loop
        if code is null or code !~ '^[A-Z]{3}$' or not exists (select 1 from dim_currency where currency_code = code) then
            raise exception 'unknown currency: %', coalesce(code, 'null')
                using errcode = '22023', hint = 'api.currencies lists the known codes';
        end if;
    end loop;
    f := api.usd_rate(v_from, convert."at");
    t := api.usd_rate(v_to, convert."at");
    foreach code in array array[case when f.rate is null then v_from end, case when t.rate is null then v_to end] loop
        if code is not null then
            raise exception 'no rate for % %', code,
                case when convert."at" is null then 'yet' else 'at or before ' || convert."at"::text end
                using errcode = 'P0002';
        end if;
    end loop;
    return query select convert.amount, v_from, v_to,
                        trim_scale(t.rate / f.rate),
                        trim_scale(convert.amount * t.rate / f.rate),
                        case when v_from = 'USD' then t.as_of when v_to = 'USD' then f.as_of else least(f.as_of, t.as_of) end,
                        f.source, t.source;
end
$$;

-- The warehouse's own functions are not for readers.
revoke execute on function fx_ensure_dates(date, date), fx_ensure_partitions(date, date), fx_lock_calendar(),
                        fx_partition_name(date) from public;
