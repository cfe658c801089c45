-- A source's configured position (primary, fallback, reference) is its rank; "tier" names hot/cold storage only.
-- Views follow the rename and keep their output names (api.sources.tier, api.latest_rates.source_tier, ...: the api
-- is stable). plpgsql bodies are stored as text, so the two that read the column are recreated (0012's, with rank).
alter table dim_source rename column tier to rank;
alter table dim_source rename constraint dim_source_tier_check to dim_source_rank_check;

-- PostgreSQL 18 names NOT NULL constraints (dim_source_tier_not_null); older servers have none to rename.
do $$
begin
    if exists (select 1 from pg_constraint
                where conrelid = 'dim_source'::regclass and conname = 'dim_source_tier_not_null') then
        alter table dim_source rename constraint dim_source_tier_not_null to dim_source_rank_not_null;
    end if;
end $$;

-- USD→code in force at p_at (now when null) from the best ranked source that has it in force. Raises P0002 naming the
-- currency, its last value's time and source when no source has it in force. Definer rights: readers call it
-- without access to the tables.
create or replace function api.usd_rate(p_code text, p_at timestamptz default null,
                                        out rate numeric, out as_of timestamptz, out source text)
language plpgsql stable security definer set search_path = pg_catalog, public as $$
declare
    v_at    timestamptz := coalesce(p_at, now());
    v_usd   smallint;
    v_quote smallint;
    s       record;
    r       record;
begin
    if p_code = 'USD' then
        rate := 1; as_of := v_at; source := null;
        return;
    end if;
    select currency_id into v_usd from dim_currency where currency_code = 'USD';
    select currency_id into v_quote from dim_currency where currency_code = p_code;
    if v_quote is null or v_usd is null then
        return;
    end if;
    for s in select source_id, source_name from dim_source order by api.source_rank(rank), source_name loop
        r := fx_rate_in_force(v_usd, v_quote, s.source_id, v_at);
        if r.rate is not null then
            rate := r.rate; as_of := r.as_of; source := s.source_name;
            return;
        end if;
    end loop;
    perform fx_raise_not_in_force(p_code, v_usd, v_quote, v_at, p_at is null);
end
$$;

-- amount in `from` expressed in `to`, with the rates in force at `at` (now when null): both legs from one source when
-- one source has both in force (the best ranked such), else each from its own best ranked source.
create or replace function api.convert(amount numeric, "from" text, "to" text, "at" timestamptz default null)
returns table (from_amount numeric, from_currency text, to_currency text, rate numeric, converted numeric,
               as_of timestamptz, from_source text, to_source text)
language plpgsql stable security definer set search_path = pg_catalog, public as $$
#variable_conflict use_column
declare
    v_from  text := upper(btrim(convert."from"));
    v_to    text := upper(btrim(convert."to"));
    v_at    timestamptz := coalesce(convert."at", now());
    v_usd   smallint;
    v_ids   smallint[] := '{}';
    f       record;
    t       record;
    s       record;
    code    text;
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
    select currency_id into v_usd from dim_currency where currency_code = 'USD';
    if v_from <> 'USD' and v_to <> 'USD' and v_usd is not null then
        for s in select source_id, source_name from dim_source order by api.source_rank(rank), source_name loop
            f := fx_rate_in_force(v_usd, (select currency_id from dim_currency where currency_code = v_from), s.source_id, v_at);
            continue when f.rate is null;
            t := fx_rate_in_force(v_usd, (select currency_id from dim_currency where currency_code = v_to), s.source_id, v_at);
            continue when t.rate is null;
            return query select convert.amount, v_from, v_to, trim_scale(t.rate / f.rate),
                                trim_scale(convert.amount * t.rate / f.rate), least(f.as_of, t.as_of),
                                s.source_name::text, s.source_name::text;
            return;
        end loop;
    end if;
    f := api.usd_rate(v_from, convert."at");
    t := api.usd_rate(v_to, convert."at");
    return query select convert.amount, v_from, v_to,
                        trim_scale(t.rate / f.rate),
                        trim_scale(convert.amount * t.rate / f.rate),
                        case when v_from = 'USD' then t.as_of when v_to = 'USD' then f.as_of else least(f.as_of, t.as_of) end,
                        f.source, t.source;
end
$$;
