-- The warehouse's schema as the migrations in src/warehouse/migrations leave it: GENERATED, do not edit.
-- Regenerate with `npm run db:schema` after adding a migration, and commit it with the migration (npm test fails while
-- it is stale). pg_dump 15 --schema-only --no-owner of a PostgreSQL 15 database migrated from empty; privileges kept,
-- version lines and session settings left out. For reading: the migrations, not this file, make a warehouse.

--
-- Name: api; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA api;


--
-- Name: fx_rate; Type: DOMAIN; Schema: public; Owner: -
--

CREATE DOMAIN public.fx_rate AS numeric
	CONSTRAINT fx_rate_check CHECK ((VALUE > (0)::numeric));


--
-- Name: fx_stored_rate; Type: TYPE; Schema: public; Owner: -
--

CREATE TYPE public.fx_stored_rate AS (
	quote_id smallint,
	pub_at timestamp with time zone,
	rate numeric
);


--
-- Name: consensus_rate(text, text, timestamp with time zone); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.consensus_rate(base text, quote text, at timestamp with time zone DEFAULT NULL::timestamp with time zone) RETURNS TABLE(base_currency text, quote_currency text, rate numeric, as_of timestamp with time zone, source_count integer, sources text[], spread_pct numeric, excluded jsonb)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $_$
#variable_conflict use_column
declare
    v_base text := upper(btrim(consensus_rate.base));
    v_quote text := upper(btrim(consensus_rate.quote));
    code   text;
begin
    foreach code in array array[v_base, v_quote] loop
        if code is null or code !~ '^[A-Z]{3}$' or not exists (select 1 from dim_currency where currency_code = code) then
            raise exception 'unknown currency: %', coalesce(code, 'null')
                using errcode = '22023', hint = 'api.currencies lists the known codes';
        end if;
    end loop;
    return query
        select v_base, v_quote, c.rate, c.as_of, c.source_count, c.sources, c.spread_pct, c.excluded
          from fx_consensus_at((select currency_id from dim_currency where currency_code = v_base),
                               (select currency_id from dim_currency where currency_code = v_quote),
                               coalesce(consensus_rate."at", now())) c;
end
$_$;


--
-- Name: convert(numeric, text, text, timestamp with time zone); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.convert(amount numeric, "from" text, "to" text, at timestamp with time zone DEFAULT NULL::timestamp with time zone) RETURNS TABLE(from_amount numeric, from_currency text, to_currency text, rate numeric, converted numeric, as_of timestamp with time zone, from_source text, to_source text)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $_$
#variable_conflict use_column
declare
    v_from    text := upper(btrim(convert."from"));
    v_to      text := upper(btrim(convert."to"));
    v_at      timestamptz := coalesce(convert."at", now());
    v_from_id smallint;
    v_to_id   smallint;
    v_from_rate numeric;
    v_to_rate   numeric;
    f         record;
    t         record;
    l         record;
    code      text;
begin
    if convert.amount is null then
        raise exception 'api.convert: amount is null' using errcode = '22004';
    end if;
    foreach code in array array[v_from, v_to] loop
        if code is null or code !~ '^[A-Z]{3}$' then
            raise exception 'unknown currency: %', coalesce(code, 'null')
                using errcode = '22023', hint = 'api.currencies lists the known codes';
        end if;
    end loop;
    if convert."at" is null and not (v_from = 'USD' and v_to = 'USD') then
        -- Now: the pair's legs as vw_latest_pairs chooses them (two known currencies, then); a pair not there is
        -- unknown or has a leg not in force (below, named).
        select p.rate_from, p.rate_to, p.as_of, p.from_source, p.to_source into l
          from vw_latest_pairs p where p.from_currency = v_from and p.to_currency = v_to;
        if found then
            return query select convert.amount, v_from, v_to, trim_scale(l.rate_to / l.rate_from),
                                trim_scale(convert.amount * l.rate_to / l.rate_from), l.as_of,
                                case when v_from <> 'USD' then l.from_source end, case when v_to <> 'USD' then l.to_source end;
            return;
        end if;
    end if;
    foreach code in array array[v_from, v_to] loop
        if not exists (select 1 from dim_currency where currency_code = code) then
            raise exception 'unknown currency: %', code
                using errcode = '22023', hint = 'api.currencies lists the known codes';
        end if;
    end loop;
    if convert."at" is not null and v_from <> 'USD' and v_to <> 'USD' then
        select currency_id into v_from_id from dim_currency where currency_code = v_from;
        select currency_id into v_to_id from dim_currency where currency_code = v_to;
        with c as materialized (select * from fx_chosen_legs(v_from_id, v_to_id, v_at))
        select fl.source_id as f_source, fl.source_name as f_name, fl.as_of as f_as_of, fl.quote_ids as f_quotes,
               tl.source_id as t_source, tl.source_name as t_name, tl.as_of as t_as_of, tl.quote_ids as t_quotes into l
          from c fl join c tl on fl.leg = 'from' and tl.leg = 'to';
        -- Both legs in force: their values (a value only the archive holds refuses, naming it); else api.usd_rate
        -- below names the leg not in force.
        if found then
            v_from_rate := fx_leg_value(v_from_id, l.f_source, l.f_as_of, l.f_quotes);
            if v_from_rate is null then
                perform fx_raise_archived(v_from_id, l.f_source, l.f_as_of);
            end if;
            v_to_rate := fx_leg_value(v_to_id, l.t_source, l.t_as_of, l.t_quotes);
            if v_to_rate is null then
                perform fx_raise_archived(v_to_id, l.t_source, l.t_as_of);
            end if;
            return query select convert.amount, v_from, v_to, trim_scale(v_to_rate / v_from_rate),
                                trim_scale(convert.amount * v_to_rate / v_from_rate), least(l.f_as_of, l.t_as_of), l.f_name, l.t_name;
            return;
        end if;
    end if;
    f := api.usd_rate(v_from, convert."at");
    t := api.usd_rate(v_to, convert."at");
    return query select convert.amount, v_from, v_to,
                        trim_scale(t.rate / f.rate),
                        trim_scale(convert.amount * t.rate / f.rate),
                        case when v_from = 'USD' then t.as_of when v_to = 'USD' then f.as_of else least(f.as_of, t.as_of) end,
                        f.source, t.source;
end
$_$;


--
-- Name: currencies_in_force(timestamp with time zone); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.currencies_in_force(at timestamp with time zone DEFAULT NULL::timestamp with time zone) RETURNS TABLE(source text, currency text, as_of timestamp with time zone, in_force boolean)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$
    select p.source_name, c.currency_code::text, p.as_of, p.in_force
      from fx_publications_at(coalesce(currencies_in_force."at", now())) p
     cross join unnest(p.quote_ids) as q(id)
      join dim_currency c on c.currency_id = q.id
$$;


--
-- Name: source_rank(text); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.source_rank(p_tier text) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    select case p_tier when 'primary' then 1 when 'fallback' then 2 else 3 end
$$;


--
-- Name: usd_rate(text, timestamp with time zone); Type: FUNCTION; Schema: api; Owner: -
--

CREATE FUNCTION api.usd_rate(p_code text, p_at timestamp with time zone DEFAULT NULL::timestamp with time zone, OUT rate numeric, OUT as_of timestamp with time zone, OUT source text) RETURNS record
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'public'
    AS $$
declare
    v_at    timestamptz := coalesce(p_at, now());
    v_usd   smallint;
    v_quote smallint;
    l       record;
begin
    if p_code = 'USD' then
        rate := 1; as_of := v_at; source := null;
        return;
    end if;
    if p_at is null then
        -- Now: the current rows say what is in force (fx_refresh_current), without looking the values up again.
        select f.rate, f.rate_timestamp, f.source_name into rate, as_of, source
          from vw_rates_latest f
         where f.base_code = 'USD' and f.quote_code = p_code and f.status = 'current'
         order by api.source_rank(f.source_tier), f.source_name limit 1;
        if found then
            return;
        end if;
    end if;
    select currency_id into v_usd from dim_currency where currency_code = 'USD';
    select currency_id into v_quote from dim_currency where currency_code = p_code;
    if v_quote is null or v_usd is null then
        return;
    end if;
    if p_at is null then
        perform fx_raise_not_in_force(p_code, v_usd, v_quote, v_at, true);
    end if;
    for l in select * from fx_publications_at(v_at) f where f.in_force and v_quote = any (f.quote_ids)
              order by f.source_order, f.source_name loop
        rate := fx_leg_value(v_quote, l.source_id, l.as_of, l.quote_ids);
        if rate is null then
            perform fx_raise_archived(v_quote, l.source_id, l.as_of);
        end if;
        as_of := l.as_of; source := l.source_name;
        return;
    end loop;
    perform fx_raise_not_in_force(p_code, v_usd, v_quote, v_at, p_at is null);
end
$$;


--
-- Name: fx_change_pct(numeric, numeric); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.fx_change_pct(p_from numeric, p_to numeric) RETURNS numeric
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$
    -- round(|move| * 10^10 / from) = floor((2 * |move| * 10^10 + from) / (2 * from)): div() truncates exactly, where
    -- round(move / from * 100, 8) would first round the quotient to the scale numeric division picks (as few as 4 decimals).
    select case when units < 1e22 then sign(p_to - p_from) * units * 0.00000001 end
      from (select div(2 * abs(p_to - p_from) * 10000000000 + p_from, 2 * p_from) as units) u
$$;


--
-- Name: fx_chosen_legs(smallint, smallint, timestamp with time zone); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.fx_chosen_legs(p_from smallint, p_to smallint, p_at timestamp with time zone) RETURNS TABLE(leg text, currency_id smallint, source_id smallint, source_name text, as_of timestamp with time zone, quote_ids smallint[])
    LANGUAGE sql STABLE
    AS $$
    with pubs as (select * from public.fx_publications_at(p_at) p where p.in_force),
    common as (select * from pubs p where p_from = any (p.quote_ids) and p_to = any (p.quote_ids)
                order by p.source_order, p.source_name limit 1)
    select c.leg, c.id, x.source_id, x.source_name, x.as_of, x.quote_ids
      from (values ('from', p_from), ('to', p_to)) c(leg, id)
     cross join lateral (
        select m.source_id, m.source_name, m.as_of, m.quote_ids from common m
        union all
        (select p.source_id, p.source_name, p.as_of, p.quote_ids from pubs p
          where c.id = any (p.quote_ids) and not exists (select 1 from common)
          order by p.source_order, p.source_name limit 1)) x
$$;


--
-- Name: fx_consensus_at(smallint, smallint, timestamp with time zone); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.fx_consensus_at(p_base smallint, p_quote smallint, p_at timestamp with time zone) RETURNS TABLE(rate numeric, as_of timestamp with time zone, source_count integer, sources text[], spread_pct numeric, excluded jsonb)
    LANGUAGE sql STABLE
    AS $$
    select c.rate, c.as_of, c.source_count, c.sources, c.spread_pct, c.excluded
      from (select array_agg(l.source_name order by l.source_name) as names,
                   array_agg(case when l.base_carried then l.base_rate end order by l.source_name) as base_rates,
                   array_agg(case when l.quote_carried then l.quote_rate end order by l.source_name) as quote_rates,
                   array_agg(l.as_of order by l.source_name) as as_ofs
              from public.fx_in_force(p_base, p_quote, p_at) l
             where l.in_force) legs
     cross join lateral public.fx_consensus_pair(legs.names, legs.base_rates, legs.quote_rates, legs.as_ofs, legs.as_ofs, p_base = p_quote,
                                                 (select f.consensus_tolerance_pct from public.fxpipe_settings f)) c
     where legs.names is not null and c.rate is not null
$$;


--
-- Name: fx_consensus_of(text[], numeric[], timestamp with time zone[], numeric); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.fx_consensus_of(p_names text[], p_rates numeric[], p_as_ofs timestamp with time zone[], p_tolerance numeric, OUT rate numeric, OUT as_of timestamp with time zone, OUT source_count integer, OUT sources text[], OUT spread_pct numeric, OUT excluded jsonb) RETURNS record
    LANGUAGE plpgsql IMMUTABLE
    AS $$
declare
    v_names   text[] := '{}';
    v_rates   numeric[] := '{}';
    v_as_ofs  timestamptz[] := '{}';
    -- The rates kept, ascending.
    v_sorted  numeric[] := '{}';
    n         integer := 0;
    m         integer;
    i         integer;
    j         integer;
    pos       integer;
    worst     integer;
    worst_pos integer;
    worst_dev numeric;
    worst_med numeric;
    med       numeric;
    dev       numeric;
begin
    for i in 1 .. coalesce(cardinality(p_rates), 0) loop
        continue when p_rates[i] is null;
        n := n + 1;
        v_names[n] := p_names[i];
        v_rates[n] := p_rates[i];
        v_as_ofs[n] := p_as_ofs[i];
        j := n;
        while j > 1 and v_sorted[j - 1] > p_rates[i] loop
            v_sorted[j] := v_sorted[j - 1];
            j := j - 1;
        end loop;
        v_sorted[j] := p_rates[i];
    end loop;
    if n = 0 then
        return;
    end if;
    excluded := '[]';
    while n >= 3 loop
        worst := null;
        worst_dev := 0;
        for i in 1 .. n loop
            -- The median of the others: of v_sorted without the position holding this rate (any, for equal rates).
            pos := 1;
            while v_sorted[pos] <> v_rates[i] loop
                pos := pos + 1;
            end loop;
            m := n - 1;
            j := (m + 1) / 2;
            med := v_sorted[j + (j >= pos)::integer];
            if m % 2 = 0 then
                j := m / 2 + 1;
                med := trim_scale((med + v_sorted[j + (j >= pos)::integer]) * 0.5);
            end if;
            dev := abs(v_rates[i] - med) / med * 100;
            if dev > p_tolerance and dev > worst_dev then
                worst := i;
                worst_pos := pos;
                worst_dev := dev;
                worst_med := med;
            end if;
        end loop;
        exit when worst is null;
        excluded := excluded || jsonb_build_object(
            'source', v_names[worst], 'rate', v_rates[worst],
            'deviation_pct', round((v_rates[worst] - worst_med) / worst_med * 100, 4),
            'reason', format('%s %% from the median of the others (%s), beyond the tolerance of %s %%',
                             round((v_rates[worst] - worst_med) / worst_med * 100, 4), trim_scale(worst_med), p_tolerance));
        v_names := v_names[:worst - 1] || v_names[worst + 1:];
        v_rates := v_rates[:worst - 1] || v_rates[worst + 1:];
        v_as_ofs := v_as_ofs[:worst - 1] || v_as_ofs[worst + 1:];
        v_sorted := v_sorted[:worst_pos - 1] || v_sorted[worst_pos + 1:];
        n := n - 1;
    end loop;
    rate := v_sorted[(n + 1) / 2];
    if n % 2 = 0 then
        rate := trim_scale((v_sorted[n / 2] + v_sorted[n / 2 + 1]) * 0.5);
    end if;
    as_of := v_as_ofs[1];
    for i in 2 .. n loop
        as_of := least(as_of, v_as_ofs[i]);
    end loop;
    source_count := n;
    sources := v_names;
    spread_pct := round((v_sorted[n] - v_sorted[1]) / rate * 100, 6);
end
$$;


--
-- Name: fx_consensus_pair(text[], numeric[], numeric[], timestamp with time zone[], timestamp with time zone[], boolean, numeric); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.fx_consensus_pair(p_names text[], p_base_rates numeric[], p_quote_rates numeric[], p_base_as_ofs timestamp with time zone[], p_quote_as_ofs timestamp with time zone[], p_same boolean, p_tolerance numeric, OUT rate numeric, OUT as_of timestamp with time zone, OUT source_count integer, OUT sources text[], OUT spread_pct numeric, OUT excluded jsonb) RETURNS record
    LANGUAGE plpgsql IMMUTABLE
    AS $$
declare
    v_names  text[] := '{}';
    v_rates  numeric[] := '{}';
    v_as_ofs timestamptz[] := '{}';
    n        integer := 0;
    c        record;
    f        record;
    t        record;
    i        integer;
begin
    for i in 1 .. coalesce(cardinality(p_names), 0) loop
        continue when p_base_rates[i] is null or p_quote_rates[i] is null;
        n := n + 1;
        v_names[n] := p_names[i];
        v_rates[n] := case when p_same then 1::numeric else trim_scale(p_quote_rates[i] / p_base_rates[i]) end;
        v_as_ofs[n] := least(p_base_as_ofs[i], p_quote_as_ofs[i]);
    end loop;
    if n > 0 then
        c := fx_consensus_of(v_names, v_rates, v_as_ofs, p_tolerance);
        rate := c.rate; as_of := c.as_of; source_count := c.source_count; sources := c.sources;
        spread_pct := c.spread_pct; excluded := c.excluded;
        return;
    end if;
    f := fx_consensus_of(p_names, p_base_rates, p_base_as_ofs, p_tolerance);
    t := fx_consensus_of(p_names, p_quote_rates, p_quote_as_ofs, p_tolerance);
    if f.rate is null or t.rate is null then
        return;
    end if;
    rate := trim_scale(t.rate / f.rate);
    as_of := least(f.as_of, t.as_of);
    sources := array(select distinct s from unnest(f.sources || t.sources) s order by s);
    source_count := cardinality(sources);
    excluded := f.excluded || t.excluded;
end
$$;


--
-- Name: fx_consensus_tolerance_pct(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.fx_consensus_tolerance_pct() RETURNS numeric
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    select consensus_tolerance_pct from public.fxpipe_settings
$$;


--
-- Name: fx_current_codes(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.fx_current_codes() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'public'
    AS $$
begin
    new.base_code := (select currency_code from dim_currency where currency_id = new.base_currency_id);
    new.quote_code := (select currency_code from dim_currency where currency_id = new.quote_currency_id);
    select source_name, rank into new.source_name, new.source_tier from dim_source where source_id = new.source_id;
    return new;
end
$$;


--
-- Name: fx_date_key(timestamp with time zone); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.fx_date_key(p_at timestamp with time zone) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    select (extract(year from p_at at time zone 'UTC') * 10000 + extract(month from p_at at time zone 'UTC') * 100
            + extract(day from p_at at time zone 'UTC'))::integer
$$;


--
-- Name: fx_day_start(date); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.fx_day_start(p_day date) RETURNS timestamp with time zone
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    select p_day::timestamp at time zone 'UTC'
$$;


--
-- Name: fx_derive_publications(smallint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.fx_derive_publications(p_source smallint) RETURNS bigint
    LANGUAGE sql
    AS $$
    with spans as (
        select h.base_currency_id, h.quote_currency_id,
               min(h.rate_timestamp) as first_at,
               greatest(max(h.rate_timestamp), max(c.rate_timestamp)) as last_at
          from fact_rates_history h
          left join fact_rates_current c using (base_currency_id, quote_currency_id, source_id)
         where h.source_id = p_source
         group by h.base_currency_id, h.quote_currency_id
    ),
    instants as (
        select base_currency_id, rate_timestamp as as_of from fact_rates_history where source_id = p_source
        union
        select base_currency_id, rate_timestamp from fact_rates_current where source_id = p_source
    ),
    added as (
        insert into source_publications (source_id, base_currency_id, as_of, quote_ids)
        select p_source, i.base_currency_id, i.as_of,
               coalesce(array_agg(s.quote_currency_id order by s.quote_currency_id)
                            filter (where s.quote_currency_id is not null), '{}')
          from instants i
          left join spans s on s.base_currency_id = i.base_currency_id and i.as_of between s.first_at and s.last_at
         group by i.base_currency_id, i.as_of
        on conflict do nothing
        returning 1
    )
    select count(*) from added
$$;


--
-- Name: fx_ensure_dates(date, date); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.fx_ensure_dates(p_from date, p_to date) RETURNS integer
    LANGUAGE plpgsql
    AS $$
declare
    v_added integer;
begin
    if (select count(*) from dim_date where full_date between p_from and p_to) = p_to - p_from + 1 then
        return 0;
    end if;
    perform fx_lock_calendar();
    insert into dim_date (date_key, full_date, year, quarter, month, iso_year, iso_week,
                          day_of_month, day_of_week, is_weekend, month_name, quarter_name)
    select to_char(d, 'YYYYMMDD')::integer,
           d::date,
           extract(year from d)::smallint,
           extract(quarter from d)::smallint,
           extract(month from d)::smallint,
           extract(isoyear from d)::smallint,
           extract(week from d)::smallint,
           extract(day from d)::smallint,
           extract(isodow from d)::smallint,
           extract(isodow from d) in (6, 7),
           trim(to_char(d, 'FMMonth')),
           'Q' || extract(quarter from d)::text
    from generate_series(p_from::timestamp, p_to::timestamp, interval '1 day') as g(d)
    on conflict (date_key) do nothing;
    get diagnostics v_added = row_count;
    return v_added;
end
$$;


--
-- Name: fx_ensure_partitions(date, date); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.fx_ensure_partitions(p_from date, p_to date) RETURNS SETOF text
    LANGUAGE plpgsql
    AS $$
declare
    v_month date := date_trunc('month', p_from)::date;
    v_name  text;
    v_lo    integer;
    v_hi    integer;
begin
    if p_to < p_from then
        raise exception 'fx_ensure_partitions: % is before %', p_to, p_from;
    end if;
    -- The common case, every partition present, takes no lock (a run holds its locks until commit).
    if not exists (
        select 1 from generate_series(v_month, p_to, interval '1 month') as m(month)
         where to_regclass(format('%I', fx_partition_name(m.month::date))) is null
    ) then
        return;
    end if;
    perform fx_lock_calendar();
    while v_month <= p_to loop
        v_name := fx_partition_name(v_month);
        v_lo := to_char(v_month, 'YYYYMMDD')::integer;
        v_hi := to_char(v_month + interval '1 month', 'YYYYMMDD')::integer;
        if to_regclass(format('%I', v_name)) is null then
            perform fx_ensure_dates(v_month, (v_month + interval '1 month' - interval '1 day')::date);
            execute format('create table %I (like fact_rates_history including defaults including constraints)', v_name);
            perform fx_track_history_writes(v_name::regclass);
            execute format(
                'with moved as (delete from fact_rates_history_default where date_key >= %s and date_key < %s returning *) '
                'insert into %I select * from moved', v_lo, v_hi, v_name);
            execute format('alter table fact_rates_history attach partition %I for values from (%s) to (%s)',
                           v_name, v_lo, v_hi);
            return next v_name;
        end if;
        v_month := (v_month + interval '1 month')::date;
    end loop;
end
$$;


--
-- Name: fx_history_written(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.fx_history_written() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
begin
    update history_version set version = version + 1;
    return null;
end
$$;


--
-- Name: fx_in_force(smallint, smallint, timestamp with time zone); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.fx_in_force(p_base smallint, p_quote smallint, p_at timestamp with time zone) RETURNS TABLE(source_id smallint, source_name text, source_order integer, as_of timestamp with time zone, in_force boolean, base_carried boolean, quote_carried boolean, base_rate numeric, quote_rate numeric)
    LANGUAGE sql STABLE
    AS $$
    select p.source_id, p.source_name, p.source_order, p.as_of, p.in_force,
           p_base = (select c.currency_id from public.dim_currency c where c.currency_code = 'USD') or p_base = any (p.quote_ids),
           p_quote = (select c.currency_id from public.dim_currency c where c.currency_code = 'USD') or p_quote = any (p.quote_ids),
           public.fx_leg_value(p_base, p.source_id, p.as_of, case when p.in_force then p.quote_ids end),
           public.fx_leg_value(p_quote, p.source_id, p.as_of, case when p.in_force then p.quote_ids end)
      from public.fx_publications_at(p_at) p
$$;


--
-- Name: fx_in_force_until(timestamp with time zone); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.fx_in_force_until(p_as_of timestamp with time zone) RETURNS timestamp with time zone
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    select p_as_of + max_rate_age from public.fxpipe_settings
$$;


--
-- Name: fx_last_publication(smallint, smallint, timestamp with time zone); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.fx_last_publication(p_base smallint, p_quote smallint, p_at timestamp with time zone, OUT as_of timestamp with time zone, OUT source text) RETURNS record
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'public'
    AS $$
    select p.as_of, s.source_name
      from dim_source s
      cross join lateral (select x.as_of from source_publications x
                           where x.source_id = s.source_id and x.base_currency_id = p_base and x.as_of <= p_at
                             and p_quote = any (x.quote_ids)
                           order by x.as_of desc limit 1) p
     order by p.as_of desc limit 1
$$;


--
-- Name: fx_last_stored_rate(smallint, smallint, smallint, timestamp with time zone); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.fx_last_stored_rate(p_base smallint, p_quote smallint, p_source smallint, p_at timestamp with time zone) RETURNS numeric
    LANGUAGE plpgsql STABLE
    AS $$
begin
    return (select h.rate from fact_rates_history h
             where h.base_currency_id = p_base and h.quote_currency_id = p_quote and h.source_id = p_source
               and h.date_key <= fx_date_key(p_at) and h.rate_timestamp <= p_at
             order by h.date_key desc, h.rate_timestamp desc limit 1);
end
$$;


--
-- Name: fx_leg_value(smallint, smallint, timestamp with time zone, smallint[]); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.fx_leg_value(p_currency smallint, p_source smallint, p_as_of timestamp with time zone, p_quote_ids smallint[]) RETURNS numeric
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'public'
    AS $_$
declare
    v_usd  smallint := (select c.currency_id from dim_currency c where c.currency_code = 'USD');
    v_key  integer := fx_date_key(p_as_of);
    v_rate numeric;
    v_day  record;
    v_have_day boolean;
    v_moved_that_day boolean;
begin
    if p_currency = v_usd then
        return 1;
    end if;
    if not coalesce(p_currency = any (p_quote_ids), false) then
        return null;
    end if;
    select d.close_as_of, d.close, d.open, d.changes into v_day from rates_daily d
     where d.source_id = p_source and d.base_currency_id = v_usd and d.date_key = v_key and d.quote_currency_id = p_currency;
    v_have_day := found;
    if v_have_day and v_day.close_as_of = p_as_of then
        return v_day.close;
    elsif v_have_day and v_day.changes = 0 then
        return v_day.open;
    end if;
    execute 'select h.rate from fact_rates_history h
              where h.base_currency_id = $1 and h.quote_currency_id = $2 and h.source_id = $3
                and h.date_key = $4 and h.rate_timestamp <= $5
              order by h.rate_timestamp desc limit 1'
       into v_rate using v_usd, p_currency, p_source, v_key, p_as_of;
    if v_rate is not null or not v_have_day then
        return v_rate;
    end if;
    execute 'select exists (select 1 from fact_rates_history h
                             where h.base_currency_id = $1 and h.quote_currency_id = $2 and h.source_id = $3 and h.date_key = $4)'
       into v_moved_that_day using v_usd, p_currency, p_source, v_key;
    return case when v_moved_that_day then v_day.open end;
end
$_$;


--
-- Name: fx_lock_calendar(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.fx_lock_calendar() RETURNS void
    LANGUAGE sql
    AS $$
    select pg_advisory_xact_lock(hashtext('fxpipe.calendar'))
$$;


--
-- Name: fx_max_rate_age(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.fx_max_rate_age() RETURNS interval
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    select max_rate_age from public.fxpipe_settings
$$;


--
-- Name: fx_max_rate_age_changed(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.fx_max_rate_age_changed() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'public'
    AS $$
begin
    if new.max_rate_age is distinct from old.max_rate_age then
        perform fx_rebuild_days(source_id, base_currency_id, (min(as_of) at time zone 'UTC')::date, (max(as_of) at time zone 'UTC')::date)
           from source_publications group by source_id, base_currency_id;
        perform fx_refresh_current(source_id) from dim_source;
    end if;
    return null;
end
$$;


--
-- Name: fx_month_archived(date); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.fx_month_archived(p_month date) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    select exists (select 1 from public.archive_manifest m where m.month = p_month and m.state = 'archived')
$$;


--
-- Name: fx_partition_name(date); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.fx_partition_name(p_month date) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$
    select 'fact_rates_history_y' || to_char(p_month, 'YYYY') || 'm' || to_char(p_month, 'MM')
$$;


--
-- Name: fx_publications_at(timestamp with time zone); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.fx_publications_at(p_at timestamp with time zone) RETURNS TABLE(source_id smallint, source_name text, source_order integer, as_of timestamp with time zone, quote_ids smallint[], in_force boolean)
    LANGUAGE sql STABLE
    AS $$
    select s.source_id, s.source_name::text, api.source_rank(s.rank), p.as_of, p.quote_ids, p_at <= public.fx_in_force_until(p.as_of)
      from public.dim_source s
     cross join lateral (select x.as_of, x.quote_ids from public.source_publications x
                          where x.source_id = s.source_id and x.as_of <= p_at
                            and x.base_currency_id = (select c.currency_id from public.dim_currency c where c.currency_code = 'USD')
                          order by x.as_of desc limit 1) p
$$;


--
-- Name: fx_raise_archived(smallint, smallint, timestamp with time zone); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.fx_raise_archived(p_quote smallint, p_source smallint, p_as_of timestamp with time zone) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'public'
    AS $$
begin
    raise exception 'the rate of % from % at % is in the archive (%): fxpipe query and serve''s /api/v1/convert read it',
        (select currency_code from dim_currency where currency_id = p_quote),
        (select source_name from dim_source where source_id = p_source), p_as_of, to_char(p_as_of at time zone 'UTC', 'YYYY-MM')
        using errcode = 'P0002';
end
$$;


--
-- Name: fx_raise_not_in_force(text, smallint, smallint, timestamp with time zone, boolean); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.fx_raise_not_in_force(p_code text, p_usd smallint, p_quote smallint, p_at timestamp with time zone, p_now boolean) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'public'
    AS $$
declare
    l record;
begin
    select * into l from fx_last_publication(p_usd, p_quote, p_at);
    if not found or l.as_of is null then
        raise exception 'no rate for % %', p_code, case when p_now then 'yet' else 'at or before ' || p_at::text end
            using errcode = 'P0002';
    end if;
    raise exception 'no rate for % in force %: its last value is from % (%)', p_code,
        case when p_now then 'now' else 'at ' || p_at::text end, l.as_of, l.source
        using errcode = 'P0002',
              hint = format('a rate is in force while its source''s latest publication carries it and is at most %s old',
                            fx_max_rate_age());
end
$$;


--
-- Name: fx_rate_in_force(smallint, smallint, smallint, timestamp with time zone); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.fx_rate_in_force(p_base smallint, p_quote smallint, p_source smallint, p_at timestamp with time zone, OUT rate numeric, OUT as_of timestamp with time zone) RETURNS record
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'public'
    AS $$
declare
    p record;
begin
    select * into p from fx_publications_at(p_at) f where f.source_id = p_source;
    if not found or not p.in_force or not (p_quote = any (p.quote_ids)) then
        return;
    end if;
    rate := fx_leg_value(p_quote, p_source, p.as_of, p.quote_ids);
    if rate is null then
        perform fx_raise_archived(p_quote, p_source, p.as_of);
    end if;
    as_of := p.as_of;
end
$$;


--
-- Name: fx_rebuild_days(smallint, smallint, date, date); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.fx_rebuild_days(p_source smallint, p_base smallint, p_from date, p_to date) RETURNS integer
    LANGUAGE plpgsql
    AS $$
declare
    v_lo    timestamptz := fx_day_start(p_from);
    v_hi    timestamptz := fx_day_start((date_trunc('month', p_to) + interval '1 month')::date);
    v_last  timestamptz;
    v_rows  integer;
    -- yyyymm of the months in the archive only.
    v_archived integer[] := array(select to_char(month, 'YYYYMM')::integer from archive_manifest where state = 'archived');
    -- The publication before the days.
    v_before timestamptz;
    -- The pairs p_from's month has days of before p_from (its rates_monthly row) but not the day before p_from: their
    -- month so far carries on from an earlier day (read one by one; the day before's are read as a range).
    v_earlier smallint[];
    -- Many days (a backfill chunk, a month restored): the stretches take their history rows from one scan of the
    -- days' rows, matched by grouping; a few (a run): each looks its row up by key.
    v_bulk boolean := p_to - p_from >= 28;
    -- The history rows at the publications in the days: what the first statement reads, the second uses.
    v_stored fx_stored_rate[];
    -- The date keys the statements compare with, computed once: in a plan reused from call to call an expression
    -- of the parameters would be evaluated for every row it filters.
    v_lo_key     integer;
    v_hi_key     integer;
    v_end_key    integer;
    v_prev_key   integer;
    v_before_key integer;
    v_month      integer;
    v_plan_mode  text := current_setting('plan_cache_mode');
begin
    if p_to < p_from then
        return 0;
    end if;
    v_lo_key := fx_date_key(v_lo);
    v_hi_key := fx_date_key(v_hi);
    v_end_key := fx_date_key(v_hi - interval '1 microsecond');
    v_prev_key := fx_date_key(v_lo - interval '1 day');
    v_month := v_lo_key / 100;
    select max(as_of) into v_last from source_publications where source_id = p_source and base_currency_id = p_base;
    select max(as_of) into v_before from source_publications where source_id = p_source and base_currency_id = p_base and as_of < v_lo;
    v_before_key := fx_date_key(v_before);
    if extract(day from p_from) > 1 then
        v_earlier := array(select m.quote_currency_id from rates_monthly m
                            where m.source_id = p_source and m.base_currency_id = p_base and m.month_key = v_month
                           except
                           select d.quote_currency_id from rates_daily d
                            where d.source_id = p_source and d.base_currency_id = p_base and d.date_key = v_prev_key);
    end if;

    delete from rates_daily d
     where d.source_id = p_source and d.base_currency_id = p_base
       and d.date_key between v_lo_key and v_end_key
       and not (d.date_key / 100 = any (v_archived));

    -- A month's row is its last day's month so far: that day is rebuilt, or (a pair no longer in force on the days
    -- rebuilt) the last day before p_from.
    delete from rates_monthly m
     where m.source_id = p_source and m.base_currency_id = p_base
       and m.month_key between v_month and v_end_key / 100
       and not (m.month_key = any (v_archived));

    -- The history rows at the publications in the days: the only statement that reads the history's partitions,
    -- so planned for each call with the values at hand (a plan for any values holds every partition). Many days (a
    -- backfill chunk, a month restored): the source's rows of the days in one scan; a few (a run): each
    -- (publication, pair) looks its row up by key. The days' partitions only: the cost does not grow with the
    -- months stored.
    perform set_config('plan_cache_mode', 'force_custom_plan', true);
    if v_bulk then
        select coalesce(array_agg(row(h.quote_currency_id, h.rate_timestamp, h.rate)::fx_stored_rate), '{}') into v_stored
          from fact_rates_history h
         where h.source_id = p_source and h.base_currency_id = p_base
           and h.rate_timestamp >= v_lo and h.rate_timestamp < v_hi
           and h.date_key between v_lo_key and v_hi_key;
    else
        select coalesce(array_agg(row(q.quote_id, p.as_of, h.rate)::fx_stored_rate), '{}') into v_stored
          from source_publications p
         cross join unnest(p.quote_ids) as q(quote_id)
         cross join lateral (
               select h.rate from fact_rates_history h
                where h.base_currency_id = p_base and h.quote_currency_id = q.quote_id and h.source_id = p_source
                  and h.date_key = fx_date_key(p.as_of) and h.rate_timestamp = p.as_of
                  and h.date_key between v_lo_key and v_hi_key
                limit 1) h
         where p.source_id = p_source and p.base_currency_id = p_base and p.as_of >= v_lo and p.as_of < v_hi;
    end if;

    -- The days and months: no partition read, so a run (few days) plans the statement once per session and reuses
    -- the plan (planning it at every call was a fifth of a run's rebuild); many days plan it for the rows at hand.
    perform set_config('plan_cache_mode', case when v_bulk then 'force_custom_plan' else 'force_generic_plan' end, true);
    with pubs as (
        select p.as_of, p.quote_ids,
               least(lead(p.as_of) over (order by p.as_of), fx_in_force_until(p.as_of),
                     case when p.as_of = v_last then fx_day_start((p.as_of at time zone 'UTC')::date + 1) end) as ends
          from ((select as_of, quote_ids from source_publications
                  where source_id = p_source and base_currency_id = p_base and as_of = v_before)
                union all
                (select as_of, quote_ids from source_publications
                  where source_id = p_source and base_currency_id = p_base and as_of >= v_lo and as_of < v_hi)
                union all
                (select as_of, quote_ids from source_publications
                  where source_id = p_source and base_currency_id = p_base and as_of >= v_hi
                  order by as_of limit 1)) p
    ),
    stretches as (
        select q.quote_id, p.as_of as pub_at, greatest(p.as_of, v_lo) as seg_from, least(p.ends, v_hi) as seg_to
          from pubs p
          cross join unnest(p.quote_ids) as q(quote_id)
         where p.as_of < v_hi and p.ends > v_lo and p.ends > p.as_of
    ),
    -- Each stretch with its value: the history row at the publication (rows are written only where the value
    -- changed: `changed`), else the close of the publication's day when the publication is the one before the days,
    -- or of an archived month (its history is in the archive) and the day's last: the only such stretch that reaches
    -- a day rebuilt; else null (the value before it, filled in below). Matched by grouping on (pair, publication),
    -- never by a join: a join planned for too few rows (a plan made for any values, a chunk not yet analyzed)
    -- compared each stretch with every row.
    segments as (
        select x.quote_id, x.pub_at, max(x.seg_from) as seg_from, max(x.seg_to) as seg_to, bool_or(x.stored) as changed,
               coalesce(max(x.rate) filter (where x.stored), max(x.rate)) as rate
          from (select s.quote_id, s.pub_at, s.seg_from, s.seg_to, null::numeric as rate, false as stored from stretches s
                union all
                select h.quote_id, h.pub_at, null, null, h.rate, true from unnest(v_stored) h
                union all
                select b.quote_currency_id, v_before, null, null, b.close, false from rates_daily b
                 where b.source_id = p_source and b.base_currency_id = p_base
                   and b.date_key = v_before_key and b.close_as_of = v_before
                union all
                select k.quote_currency_id, k.close_as_of, null, null, k.close, false from rates_daily k
                 where cardinality(v_archived) > 0 and k.source_id = p_source and k.base_currency_id = p_base
                   and k.date_key between v_lo_key and v_hi_key
                   and k.date_key / 100 = any (v_archived) and k.date_key = fx_date_key(k.close_as_of)) x
         group by x.quote_id, x.pub_at
        having count(x.seg_from) > 0
    ),
    grouped as (
        select s.*, count(s.rate) over (partition by s.quote_id order by s.pub_at) as run from segments s
    ),
    -- The value in force when the days start: the day before's close, else (a warehouse of the previous version, or
    -- a pair in force again) the last history row before the first stretch.
    seeds as (
        select g.quote_id,
               coalesce((select d.close from rates_daily d
                          where d.source_id = p_source and d.base_currency_id = p_base
                            and d.date_key = v_prev_key and d.quote_currency_id = g.quote_id),
                        fx_last_stored_rate(p_base, g.quote_id, p_source, min(g.pub_at))) as rate
          from grouped g
         where g.run = 0
         group by g.quote_id
    ),
    valued as (
        select g.quote_id, g.pub_at, g.seg_from, g.seg_to, g.changed,
               coalesce(first_value(g.rate) over (partition by g.quote_id, g.run order by g.pub_at), s.rate) as rate
          from grouped g
          left join seeds s on s.quote_id = g.quote_id and g.run = 0
    ),
    -- Each stretch cut at UTC midnights, one piece per day it reaches. The days are 24-hour bins from v_lo (a UTC
    -- midnight): plain arithmetic, no time zone lookup per row; generate_series in the select list runs per row as
    -- it goes, where in FROM it fills a tuplestore per stretch (the two together were a third of a year's rebuild).
    pieces as (
        select x.quote_id, x.pub_at, x.changed, x.rate, x.day_start,
               greatest(x.seg_from, x.day_start) as piece_from,
               least(x.seg_to, x.day_start + interval '24 hours') as piece_to
          from (select v.quote_id, v.pub_at, v.changed, v.rate, v.seg_from, v.seg_to,
                       generate_series(date_bin('24 hours', v.seg_from, v_lo),
                                       date_bin('24 hours', v.seg_to - interval '1 microsecond', v_lo),
                                       interval '24 hours') as day_start
                  from valued v
                 where v.rate is not null) x
    ),
    days as (
        -- First and last in one order (the last is at count(*)): the rows come sorted for it, no sort per group.
        select fx_date_key(x.day_start) as date_key, x.quote_id,
               (array_agg(x.rate order by x.piece_from))[1] as open,
               max(x.rate) as high, min(x.rate) as low,
               (array_agg(x.rate order by x.piece_from))[count(*)] as close,
               sum(x.rate * extract(epoch from x.piece_to - x.piece_from)) / sum(extract(epoch from x.piece_to - x.piece_from)) as average,
               stddev_samp(distinct x.rate) as stddev,
               count(*) filter (where x.pub_at >= x.day_start) as observations,
               count(*) filter (where x.pub_at >= x.day_start and x.changed) as changes,
               min(x.piece_from) as in_force_from, max(x.piece_to) as in_force_to,
               (array_agg(x.pub_at order by x.piece_from))[count(*)] as close_as_of
          from pieces x
         where x.piece_to > x.piece_from
         group by x.day_start, x.quote_id
        having not (fx_date_key(x.day_start) / 100 = any (v_archived))
    ),
    -- Each pair's last day of p_from's month before p_from: the month so far the rebuilt days go on from.
    earlier as (
        select k.date_key, k.quote_currency_id, k.close, k.mtd_open, k.mtd_high, k.mtd_low, k.mtd_observations, k.mtd_days,
               k.mtd_publishing_days, k.mtd_sum, k.mtd_sum_squares, k.mtd_publishing_sum, k.mtd_publishing_sum_squares
          from rates_daily k
         where extract(day from p_from) > 1
           and k.source_id = p_source and k.base_currency_id = p_base and k.date_key = v_prev_key
        union all
        select e.* from unnest(v_earlier) as q(quote_id)
         cross join lateral (
               select k.date_key, k.quote_currency_id, k.close, k.mtd_open, k.mtd_high, k.mtd_low, k.mtd_observations, k.mtd_days,
                      k.mtd_publishing_days, k.mtd_sum, k.mtd_sum_squares, k.mtd_publishing_sum, k.mtd_publishing_sum_squares
                 from rates_daily k
                where k.base_currency_id = p_base and k.quote_currency_id = q.quote_id and k.source_id = p_source
                  and make_date(k.date_key / 10000, k.date_key / 100 % 100, k.date_key % 100) >= date_trunc('month', p_from)::date
                  and make_date(k.date_key / 10000, k.date_key / 100 % 100, k.date_key % 100) < p_from
                order by make_date(k.date_key / 10000, k.date_key / 100 % 100, k.date_key % 100) desc
                limit 1) e
    ),
    written as (
        insert into rates_daily (source_id, base_currency_id, date_key, quote_currency_id, open, high, low, close, average,
                                 stddev, observations, changes, in_force_from, in_force_to, close_as_of,
                                 mtd_open, mtd_high, mtd_low, mtd_observations, mtd_days, mtd_publishing_days,
                                 mtd_sum, mtd_sum_squares, mtd_publishing_sum, mtd_publishing_sum_squares)
        select p_source, p_base, d.date_key, d.quote_id, d.open, d.high, d.low, d.close, d.average, d.stddev, d.observations,
               d.changes, d.in_force_from, d.in_force_to, d.close_as_of,
               coalesce(e.mtd_open, first_value(d.open) over w),
               greatest(e.mtd_high, max(d.high) over w),
               least(e.mtd_low, min(d.low) over w),
               coalesce(e.mtd_observations, 0) + sum(d.observations) over w,
               coalesce(e.mtd_days, 0) + count(*) over w,
               coalesce(e.mtd_publishing_days, 0) + count(*) filter (where d.observations > 0) over w,
               coalesce(e.mtd_sum, 0) + sum(d.close) over w,
               coalesce(e.mtd_sum_squares, 0) + sum(d.close * d.close) over w,
               coalesce(e.mtd_publishing_sum, 0) + coalesce(sum(d.close) filter (where d.observations > 0) over w, 0),
               coalesce(e.mtd_publishing_sum_squares, 0) + coalesce(sum(d.close * d.close) filter (where d.observations > 0) over w, 0)
          from days d
          left join earlier e on e.quote_currency_id = d.quote_id and d.date_key / 100 = v_month
        window w as (partition by d.quote_id, d.date_key / 100 order by d.date_key)
        returning date_key, quote_currency_id, close, mtd_open, mtd_high, mtd_low, mtd_observations, mtd_days,
                  mtd_publishing_days, mtd_sum, mtd_sum_squares, mtd_publishing_sum, mtd_publishing_sum_squares
    ),
    monthly as (
        insert into rates_monthly (source_id, base_currency_id, month_key, quote_currency_id, open, high, low, close, average,
                                   stddev, volatility_pct, observations, publishing_days, days_in_force)
        select p_source, p_base, l.date_key / 100, l.quote_currency_id, l.mtd_open, l.mtd_high, l.mtd_low, l.close, l.average,
               l.stddev, round(l.stddev / l.average * 100, 6), l.mtd_observations, l.mtd_publishing_days, l.mtd_days
          from (select distinct on (k.quote_currency_id, k.date_key / 100) k.date_key, k.quote_currency_id, k.mtd_open, k.mtd_high,
                       k.mtd_low, k.close, k.mtd_observations, k.mtd_publishing_days, k.mtd_days,
                       -- Over the closes of the publishing days; over all the days when none published.
                       case when k.mtd_publishing_days > 0 then k.mtd_publishing_sum / k.mtd_publishing_days
                            else k.mtd_sum / k.mtd_days end as average,
                       case when k.mtd_publishing_days > 1
                                 then sqrt(greatest(k.mtd_publishing_days * k.mtd_publishing_sum_squares - k.mtd_publishing_sum * k.mtd_publishing_sum, 0)
                                           / (k.mtd_publishing_days * (k.mtd_publishing_days - 1)))
                            when k.mtd_publishing_days = 0 and k.mtd_days > 1
                                 then sqrt(greatest(k.mtd_days * k.mtd_sum_squares - k.mtd_sum * k.mtd_sum, 0) / (k.mtd_days * (k.mtd_days - 1)))
                       end as stddev
                  from (select * from written
                        union all
                        select * from earlier where not (v_month = any (v_archived))) k
                 order by k.quote_currency_id, k.date_key / 100, k.date_key desc) l
    )
    select count(*) into v_rows from written;
    perform set_config('plan_cache_mode', v_plan_mode, true);
    return v_rows;
end
$$;


--
-- Name: fx_refresh_current(smallint); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.fx_refresh_current(p_source smallint) RETURNS void
    LANGUAGE sql
    AS $$
    update public.fact_rates_current f
       set retired = p.as_of is null or not (f.quote_currency_id = any (p.quote_ids)),
           in_force_until = case when f.quote_currency_id = any (p.quote_ids) then public.fx_in_force_until(p.as_of) end
      from (select (select l.as_of from public.fx_publications_at('infinity') l where l.source_id = p_source) as as_of,
                   (select l.quote_ids from public.fx_publications_at('infinity') l where l.source_id = p_source) as quote_ids) p
     where f.source_id = p_source
       and f.base_currency_id = (select c.currency_id from public.dim_currency c where c.currency_code = 'USD')
       and (f.retired, f.in_force_until) is distinct from
           (p.as_of is null or not (f.quote_currency_id = any (p.quote_ids)),
            case when f.quote_currency_id = any (p.quote_ids) then public.fx_in_force_until(p.as_of) end)
$$;


--
-- Name: fx_resumed_pairs(smallint, timestamp with time zone, timestamp with time zone); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.fx_resumed_pairs(p_source smallint, p_from timestamp with time zone, p_to timestamp with time zone) RETURNS TABLE(as_of timestamp with time zone, quote_id smallint)
    LANGUAGE sql STABLE
    AS $$
    select p.as_of, q.id
      from (select x.as_of, x.quote_ids, lag(x.as_of) over w as prev_as_of, lag(x.quote_ids) over w as prev_ids
              from public.source_publications x
             where x.source_id = p_source
               and x.base_currency_id = (select c.currency_id from public.dim_currency c where c.currency_code = 'USD')
               and x.as_of >= (select coalesce(max(y.as_of), p_from) from public.source_publications y
                                where y.source_id = p_source and y.as_of < p_from
                                  and y.base_currency_id = (select c.currency_id from public.dim_currency c where c.currency_code = 'USD'))
               and x.as_of <= p_to
            window w as (order by x.as_of)) p
     cross join unnest(p.quote_ids) as q(id)
     where p.as_of >= p_from
       and (p.prev_as_of is null or not (q.id = any (p.prev_ids)) or p.as_of > public.fx_in_force_until(p.prev_as_of))
$$;


--
-- Name: fx_source_tier_changed(); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.fx_source_tier_changed() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'public'
    AS $$
begin
    update fact_rates_current set source_name = new.source_name, source_tier = new.rank
     where source_id = new.source_id and (source_name, source_tier) is distinct from (new.source_name, new.rank);
    return null;
end
$$;


--
-- Name: fx_track_history_writes(regclass); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.fx_track_history_writes(p_table regclass) RETURNS void
    LANGUAGE plpgsql
    AS $$
begin
    if not exists (select 1 from pg_trigger where tgrelid = p_table and tgname = 'history_written') then
        execute format('create trigger history_written after insert or update or delete or truncate on %s '
                       'for each statement execute function fx_history_written()', p_table);
    end if;
end
$$;


--
-- Name: dim_currency; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.dim_currency (
    currency_id smallint NOT NULL,
    currency_code text NOT NULL,
    currency_name text NOT NULL,
    symbol text,
    minor_units smallint,
    is_iso boolean DEFAULT false NOT NULL,
    is_active boolean DEFAULT true NOT NULL,
    first_seen_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT dim_currency_currency_code_check CHECK ((currency_code ~ '^[A-Z]{3}$'::text)),
    CONSTRAINT dim_currency_minor_units_check CHECK (((minor_units >= 0) AND (minor_units <= 6)))
);


--
-- Name: consensus_rates; Type: VIEW; Schema: api; Owner: -
--

CREATE VIEW api.consensus_rates AS
 SELECT c.base_currency AS base,
    c.quote_currency AS quote,
    c.rate,
    c.as_of,
    c.source_count,
    c.sources,
    c.spread_pct,
    c.excluded
   FROM (public.dim_currency q
     CROSS JOIN LATERAL api.consensus_rate('USD'::text, q.currency_code) c(base_currency, quote_currency, rate, as_of, source_count, sources, spread_pct, excluded))
  WHERE (q.currency_code <> 'USD'::text);


--
-- Name: dim_source; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.dim_source (
    source_id smallint NOT NULL,
    source_name text NOT NULL,
    rank text NOT NULL,
    endpoint text NOT NULL,
    is_active boolean DEFAULT true NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT dim_source_rank_check CHECK ((rank = ANY (ARRAY['primary'::text, 'fallback'::text, 'reference'::text]))),
    CONSTRAINT dim_source_source_name_check CHECK ((source_name ~ '^[a-z][a-z0-9-]{0,62}$'::text))
);


--
-- Name: fact_rates_current; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.fact_rates_current (
    base_currency_id smallint NOT NULL,
    quote_currency_id smallint NOT NULL,
    source_id smallint NOT NULL,
    rate public.fx_rate NOT NULL,
    rate_timestamp timestamp with time zone NOT NULL,
    previous_rate public.fx_rate,
    change_pct numeric,
    change_reason text DEFAULT 'initial'::text NOT NULL,
    flags text[] DEFAULT '{}'::text[] NOT NULL,
    last_extraction_id uuid,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    retired boolean DEFAULT false NOT NULL,
    in_force_until timestamp with time zone,
    base_code text NOT NULL,
    quote_code text NOT NULL,
    source_name text NOT NULL,
    source_tier text NOT NULL,
    CONSTRAINT fact_rates_current_change_pct_fits CHECK (((change_pct IS NULL) OR (abs(change_pct) < '100000000000000'::numeric))),
    CONSTRAINT fact_rates_current_change_reason_check CHECK ((change_reason = ANY (ARRAY['initial'::text, 'moved'::text, 'resumed'::text, 'below_threshold'::text, 'unchanged'::text])))
);


--
-- Name: vw_rates_latest; Type: VIEW; Schema: public; Owner: -
--

CREATE VIEW public.vw_rates_latest AS
 SELECT f.base_code,
    f.quote_code,
    f.source_name,
    f.source_tier,
    f.rate,
    f.rate_timestamp,
    f.previous_rate,
    f.change_pct,
    f.change_reason,
    f.flags,
    f.updated_at,
        CASE
            WHEN f.retired THEN 'retired'::text
            WHEN (now() > f.in_force_until) THEN 'stale'::text
            ELSE 'current'::text
        END AS status
   FROM public.fact_rates_current f;


--
-- Name: vw_latest_pairs; Type: VIEW; Schema: public; Owner: -
--

CREATE VIEW public.vw_latest_pairs AS
 WITH legs AS NOT MATERIALIZED (
         SELECT v.quote_code AS currency,
            v.source_name AS source,
            v.source_tier,
            v.rate,
            v.rate_timestamp AS as_of
           FROM public.vw_rates_latest v
          WHERE ((v.base_code = 'USD'::text) AND (v.status = 'current'::text))
        UNION ALL
         SELECT 'USD'::text,
            s.source_name,
            s.rank,
            (1)::numeric AS "numeric",
            NULL::timestamp with time zone AS timestamptz
           FROM public.dim_source s
          WHERE (EXISTS ( SELECT 1
                   FROM public.vw_rates_latest v
                  WHERE ((v.source_name = s.source_name) AND (v.status = 'current'::text))))
        ), pairs AS (
         SELECT a.currency AS from_currency,
            b.currency AS to_currency,
            a.rate AS rate_from,
            b.rate AS rate_to,
                CASE
                    WHEN (a.currency = 'USD'::text) THEN b.as_of
                    WHEN (b.currency = 'USD'::text) THEN a.as_of
                    ELSE LEAST(a.as_of, b.as_of)
                END AS as_of,
            a.source AS from_source,
            b.source AS to_source,
            row_number() OVER (PARTITION BY a.currency, b.currency ORDER BY (a.source = b.source) DESC, (api.source_rank(a.source_tier) + api.source_rank(b.source_tier)), (api.source_rank(a.source_tier)), a.source, b.source) AS choice
           FROM (legs a
             CROSS JOIN legs b)
        )
 SELECT pairs.from_currency,
    pairs.to_currency,
    pairs.rate_from,
    pairs.rate_to,
    trim_scale((pairs.rate_to / pairs.rate_from)) AS rate,
    pairs.as_of,
    pairs.from_source,
    pairs.to_source
   FROM pairs
  WHERE (pairs.choice = 1);


--
-- Name: cross_rates; Type: VIEW; Schema: api; Owner: -
--

CREATE VIEW api.cross_rates AS
 SELECT vw_latest_pairs.from_currency,
    vw_latest_pairs.to_currency,
    vw_latest_pairs.rate,
    vw_latest_pairs.as_of,
    vw_latest_pairs.from_source,
    vw_latest_pairs.to_source
   FROM public.vw_latest_pairs;


--
-- Name: source_publications; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.source_publications (
    source_id smallint NOT NULL,
    base_currency_id smallint NOT NULL,
    as_of timestamp with time zone NOT NULL,
    quote_ids smallint[] NOT NULL,
    loaded_at timestamp with time zone DEFAULT now() NOT NULL
);


--
-- Name: currencies; Type: VIEW; Schema: api; Owner: -
--

CREATE VIEW api.currencies AS
 SELECT c.currency_code AS code,
    c.currency_name AS name,
    c.symbol,
    c.minor_units,
    c.is_iso,
    (((c.currency_code = 'USD'::text) AND (EXISTS ( SELECT 1
           FROM public.source_publications))) OR (EXISTS ( SELECT 1
           FROM (public.dim_source s
             CROSS JOIN LATERAL ( SELECT p.quote_ids
                   FROM public.source_publications p
                  WHERE (p.source_id = s.source_id)
                  ORDER BY p.as_of DESC
                 LIMIT 1) l)
          WHERE (c.currency_id = ANY (l.quote_ids))))) AS is_active
   FROM public.dim_currency c;


--
-- Name: rates_daily; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.rates_daily (
    source_id smallint NOT NULL,
    base_currency_id smallint NOT NULL,
    date_key integer NOT NULL,
    quote_currency_id smallint NOT NULL,
    open numeric NOT NULL,
    high numeric NOT NULL,
    low numeric NOT NULL,
    close numeric NOT NULL,
    average numeric NOT NULL,
    stddev numeric,
    observations integer NOT NULL,
    carried boolean GENERATED ALWAYS AS ((observations = 0)) STORED,
    changes integer NOT NULL,
    in_force_from timestamp with time zone NOT NULL,
    in_force_to timestamp with time zone NOT NULL,
    close_as_of timestamp with time zone NOT NULL,
    mtd_open numeric NOT NULL,
    mtd_high numeric NOT NULL,
    mtd_low numeric NOT NULL,
    mtd_observations integer NOT NULL,
    mtd_days integer NOT NULL,
    mtd_publishing_days integer NOT NULL,
    mtd_sum numeric NOT NULL,
    mtd_sum_squares numeric NOT NULL,
    mtd_publishing_sum numeric NOT NULL,
    mtd_publishing_sum_squares numeric NOT NULL,
    CONSTRAINT rates_daily_changes_check CHECK ((changes >= 0)),
    CONSTRAINT rates_daily_observations_check CHECK ((observations >= 0))
);


--
-- Name: daily_rates; Type: VIEW; Schema: api; Owner: -
--

CREATE VIEW api.daily_rates AS
 SELECT make_date((d.date_key / 10000), ((d.date_key / 100) % 100), (d.date_key % 100)) AS date,
    d.date_key,
    b.currency_code AS base,
    q.currency_code AS quote,
    s.source_name AS source,
    d.open,
    d.high,
    d.low,
    d.close,
    d.average,
    d.stddev,
    (d.observations)::bigint AS observations,
    d.carried
   FROM (((public.rates_daily d
     JOIN public.dim_currency b ON ((b.currency_id = d.base_currency_id)))
     JOIN public.dim_currency q ON ((q.currency_id = d.quote_currency_id)))
     JOIN public.dim_source s ON ((s.source_id = d.source_id)));


--
-- Name: latest_rates; Type: VIEW; Schema: api; Owner: -
--

CREATE VIEW api.latest_rates AS
 SELECT v.base_code AS base,
    v.quote_code AS quote,
    v.source_name AS source,
    v.source_tier,
    v.rate,
    v.rate_timestamp AS as_of,
    v.previous_rate,
    v.change_pct,
    v.flags,
    v.updated_at,
    ((v.status = 'current'::text) AND (row_number() OVER (PARTITION BY v.base_code, v.quote_code ORDER BY (v.status = 'current'::text) DESC, (api.source_rank(v.source_tier)), v.rate_timestamp DESC) = 1)) AS preferred,
    v.status
   FROM public.vw_rates_latest v;


--
-- Name: rates_monthly; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.rates_monthly (
    source_id smallint NOT NULL,
    base_currency_id smallint NOT NULL,
    month_key integer NOT NULL,
    quote_currency_id smallint NOT NULL,
    open numeric NOT NULL,
    high numeric NOT NULL,
    low numeric NOT NULL,
    close numeric NOT NULL,
    average numeric NOT NULL,
    stddev numeric,
    volatility_pct numeric,
    observations integer NOT NULL,
    publishing_days integer NOT NULL,
    days_in_force integer NOT NULL
);


--
-- Name: monthly_rates; Type: VIEW; Schema: api; Owner: -
--

CREATE VIEW api.monthly_rates AS
 SELECT make_date((m.month_key / 100), (m.month_key % 100), 1) AS month,
    m.month_key,
    b.currency_code AS base,
    q.currency_code AS quote,
    s.source_name AS source,
    m.open,
    m.high,
    m.low,
    m.close,
    m.average,
    m.stddev,
    (m.observations)::bigint AS observations,
    m.volatility_pct,
    m.publishing_days,
    m.days_in_force
   FROM (((public.rates_monthly m
     JOIN public.dim_currency b ON ((b.currency_id = m.base_currency_id)))
     JOIN public.dim_currency q ON ((q.currency_id = m.quote_currency_id)))
     JOIN public.dim_source s ON ((s.source_id = m.source_id)));


--
-- Name: production_checks; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.production_checks (
    check_row_id bigint NOT NULL,
    check_id uuid NOT NULL,
    label text,
    checked_at timestamp with time zone NOT NULL,
    line integer NOT NULL,
    base text NOT NULL,
    quote text NOT NULL,
    rate numeric NOT NULL,
    at timestamp with time zone NOT NULL,
    consensus_rate numeric,
    deviation_pct numeric,
    tolerance_pct numeric NOT NULL,
    verdict text NOT NULL,
    source_count integer,
    sources text[],
    excluded jsonb,
    CONSTRAINT production_checks_rate_check CHECK ((rate > (0)::numeric)),
    CONSTRAINT production_checks_tolerance_pct_check CHECK ((tolerance_pct >= (0)::numeric)),
    CONSTRAINT production_checks_verdict_check CHECK ((verdict = ANY (ARRAY['ok'::text, 'deviates'::text, 'no_rate'::text])))
);


--
-- Name: production_checks; Type: VIEW; Schema: api; Owner: -
--

CREATE VIEW api.production_checks AS
 SELECT production_checks.check_id,
    production_checks.label,
    production_checks.checked_at,
    production_checks.line,
    production_checks.base,
    production_checks.quote,
    production_checks.rate,
    production_checks.at,
    production_checks.consensus_rate,
    production_checks.deviation_pct,
    production_checks.tolerance_pct,
    production_checks.verdict,
    production_checks.source_count,
    production_checks.sources,
    production_checks.excluded,
    production_checks.check_row_id
   FROM public.production_checks
  ORDER BY production_checks.check_row_id DESC;


--
-- Name: dim_date; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.dim_date (
    date_key integer NOT NULL,
    full_date date NOT NULL,
    year smallint NOT NULL,
    quarter smallint NOT NULL,
    month smallint NOT NULL,
    iso_year smallint NOT NULL,
    iso_week smallint NOT NULL,
    day_of_month smallint NOT NULL,
    day_of_week smallint NOT NULL,
    is_weekend boolean NOT NULL,
    month_name text NOT NULL,
    quarter_name text NOT NULL,
    CONSTRAINT dim_date_date_key_check CHECK (((date_key >= 19000101) AND (date_key <= 29991231))),
    CONSTRAINT dim_date_day_of_month_check CHECK (((day_of_month >= 1) AND (day_of_month <= 31))),
    CONSTRAINT dim_date_day_of_week_check CHECK (((day_of_week >= 1) AND (day_of_week <= 7))),
    CONSTRAINT dim_date_iso_week_check CHECK (((iso_week >= 1) AND (iso_week <= 53))),
    CONSTRAINT dim_date_month_check CHECK (((month >= 1) AND (month <= 12))),
    CONSTRAINT dim_date_quarter_check CHECK (((quarter >= 1) AND (quarter <= 4)))
);


--
-- Name: fact_rates_history; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.fact_rates_history (
    date_key integer NOT NULL,
    base_currency_id smallint NOT NULL,
    quote_currency_id smallint NOT NULL,
    source_id smallint NOT NULL,
    rate_timestamp timestamp with time zone NOT NULL,
    rate public.fx_rate NOT NULL,
    previous_rate public.fx_rate,
    change_pct numeric,
    flags text[] DEFAULT '{}'::text[] NOT NULL,
    extraction_id uuid,
    run_id uuid,
    loaded_at timestamp with time zone DEFAULT now() NOT NULL,
    change_id bigint NOT NULL,
    CONSTRAINT fact_rates_history_change_pct_fits CHECK (((change_pct IS NULL) OR (abs(change_pct) < '100000000000000'::numeric)))
)
PARTITION BY RANGE (date_key);


--
-- Name: rate_changes; Type: VIEW; Schema: api; Owner: -
--

CREATE VIEW api.rate_changes AS
 SELECT h.change_id,
    b.currency_code AS base,
    q.currency_code AS quote,
    s.source_name AS source,
    h.rate,
    h.previous_rate,
    h.change_pct,
    h.rate_timestamp AS as_of,
    d.full_date AS date,
    h.flags,
    h.loaded_at
   FROM ((((public.fact_rates_history h
     JOIN public.dim_currency b ON ((b.currency_id = h.base_currency_id)))
     JOIN public.dim_currency q ON ((q.currency_id = h.quote_currency_id)))
     JOIN public.dim_source s ON ((s.source_id = h.source_id)))
     JOIN public.dim_date d ON ((d.date_key = h.date_key)));


--
-- Name: vw_rates_comparison; Type: VIEW; Schema: public; Owner: -
--

CREATE VIEW public.vw_rates_comparison AS
 WITH latest AS (
         SELECT vw_rates_latest.base_code,
            vw_rates_latest.quote_code,
            vw_rates_latest.source_name,
            vw_rates_latest.source_tier AS tier,
            vw_rates_latest.rate,
            vw_rates_latest.rate_timestamp,
            vw_rates_latest.flags
           FROM public.vw_rates_latest
          WHERE (vw_rates_latest.status = 'current'::text)
        ), reference AS (
         SELECT latest.base_code,
            latest.quote_code,
            COALESCE(max((latest.rate)::numeric) FILTER (WHERE (latest.tier = 'primary'::text)), (percentile_cont((0.5)::double precision) WITHIN GROUP (ORDER BY ((latest.rate)::double precision)))::numeric) AS reference_rate,
            count(*) AS source_count
           FROM latest
          GROUP BY latest.base_code, latest.quote_code
        )
 SELECT l.base_code,
    l.quote_code,
    l.source_name,
    l.tier AS source_tier,
    l.rate,
    l.rate_timestamp,
    r.reference_rate,
    r.source_count,
    round(((((l.rate)::numeric - r.reference_rate) / r.reference_rate) * (100)::numeric), 6) AS deviation_pct,
    l.flags
   FROM (latest l
     JOIN reference r USING (base_code, quote_code));


--
-- Name: source_comparison; Type: VIEW; Schema: api; Owner: -
--

CREATE VIEW api.source_comparison AS
 SELECT vw_rates_comparison.base_code AS base,
    vw_rates_comparison.quote_code AS quote,
    vw_rates_comparison.source_name AS source,
    vw_rates_comparison.source_tier,
    vw_rates_comparison.rate,
    vw_rates_comparison.rate_timestamp AS as_of,
    vw_rates_comparison.reference_rate,
    vw_rates_comparison.source_count,
    vw_rates_comparison.deviation_pct,
    vw_rates_comparison.flags
   FROM public.vw_rates_comparison;


--
-- Name: sources; Type: VIEW; Schema: api; Owner: -
--

CREATE VIEW api.sources AS
 SELECT dim_source.source_name AS source,
    dim_source.rank AS tier,
    dim_source.is_active,
    dim_source.updated_at
   FROM public.dim_source;


--
-- Name: alert_log; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.alert_log (
    alert_id bigint NOT NULL,
    kind text NOT NULL,
    source text,
    run_id uuid,
    sent_at timestamp with time zone NOT NULL,
    delivered boolean NOT NULL,
    attempts integer NOT NULL,
    error text,
    payload jsonb NOT NULL,
    CONSTRAINT alert_log_attempts_check CHECK ((attempts >= 0))
);


--
-- Name: alert_log_alert_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.alert_log ALTER COLUMN alert_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.alert_log_alert_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: alert_raised; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.alert_raised (
    kind text NOT NULL,
    source text NOT NULL,
    raised_at timestamp with time zone NOT NULL
);


--
-- Name: archive_manifest; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.archive_manifest (
    month date NOT NULL,
    partition_name text NOT NULL,
    uri text NOT NULL,
    rows bigint NOT NULL,
    bytes bigint NOT NULL,
    rate_sum numeric NOT NULL,
    checksum text NOT NULL,
    state text NOT NULL,
    archived_at timestamp with time zone,
    restored_at timestamp with time zone,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT archive_manifest_bytes_check CHECK ((bytes >= 0)),
    CONSTRAINT archive_manifest_month_check CHECK ((EXTRACT(day FROM month) = (1)::numeric)),
    CONSTRAINT archive_manifest_rows_check CHECK ((rows >= 0)),
    CONSTRAINT archive_manifest_state_check CHECK ((state = ANY (ARRAY['uploaded'::text, 'verified'::text, 'archived'::text, 'restored'::text])))
);


--
-- Name: backfill_chunks; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.backfill_chunks (
    source_name text NOT NULL,
    chunk_from date NOT NULL,
    chunk_to date NOT NULL,
    content_sha256 text NOT NULL,
    change_threshold_pct numeric NOT NULL,
    rows_read integer NOT NULL,
    rows_loaded integer NOT NULL,
    rows_rejected integer NOT NULL,
    extraction_id uuid,
    run_id uuid NOT NULL,
    loaded_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT backfill_chunks_change_threshold_pct_check CHECK (((change_threshold_pct >= (0)::numeric) AND (change_threshold_pct <= (100)::numeric))),
    CONSTRAINT backfill_chunks_check CHECK ((chunk_from <= chunk_to)),
    CONSTRAINT backfill_chunks_content_sha256_check CHECK ((content_sha256 ~ '^[0-9a-f]{64}$'::text)),
    CONSTRAINT backfill_chunks_rows_loaded_check CHECK ((rows_loaded >= 0)),
    CONSTRAINT backfill_chunks_rows_read_check CHECK ((rows_read >= 0)),
    CONSTRAINT backfill_chunks_rows_rejected_check CHECK ((rows_rejected >= 0))
);


--
-- Name: bronze_extraction; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.bronze_extraction (
    extraction_id uuid DEFAULT gen_random_uuid() NOT NULL,
    run_id uuid,
    source_name text NOT NULL,
    extracted_at timestamp with time zone DEFAULT now() NOT NULL,
    extraction_method text NOT NULL,
    http_status integer,
    request_url text NOT NULL,
    request_headers jsonb DEFAULT '{}'::jsonb NOT NULL,
    request_params jsonb DEFAULT '{}'::jsonb NOT NULL,
    response_headers jsonb DEFAULT '{}'::jsonb NOT NULL,
    raw_json jsonb,
    raw_text text,
    byte_size integer NOT NULL,
    content_sha256 text NOT NULL,
    duration_ms numeric(12,3) DEFAULT 0 NOT NULL,
    error text,
    CONSTRAINT bronze_extraction_byte_size_check CHECK ((byte_size >= 0)),
    CONSTRAINT bronze_extraction_check CHECK (((raw_json IS NULL) OR (raw_text IS NULL))),
    CONSTRAINT bronze_extraction_content_sha256_check CHECK ((content_sha256 ~ '^[0-9a-f]{64}$'::text)),
    CONSTRAINT bronze_extraction_extraction_method_check CHECK ((extraction_method = ANY (ARRAY['scheduled'::text, 'manual'::text, 'backfill'::text, 'failover'::text])))
);


--
-- Name: dim_currency_currency_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.dim_currency ALTER COLUMN currency_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.dim_currency_currency_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: dim_source_source_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.dim_source ALTER COLUMN source_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.dim_source_source_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: fact_rates_history_change_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.fact_rates_history_change_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: fact_rates_history_change_id_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.fact_rates_history_change_id_seq OWNED BY public.fact_rates_history.change_id;


--
-- Name: fact_rates_history_default; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.fact_rates_history_default (
    date_key integer NOT NULL,
    base_currency_id smallint NOT NULL,
    quote_currency_id smallint NOT NULL,
    source_id smallint NOT NULL,
    rate_timestamp timestamp with time zone NOT NULL,
    rate public.fx_rate NOT NULL,
    previous_rate public.fx_rate,
    change_pct numeric,
    flags text[] DEFAULT '{}'::text[] NOT NULL,
    extraction_id uuid,
    run_id uuid,
    loaded_at timestamp with time zone DEFAULT now() NOT NULL,
    change_id bigint DEFAULT nextval('public.fact_rates_history_change_id_seq'::regclass) NOT NULL,
    CONSTRAINT fact_rates_history_change_pct_fits CHECK (((change_pct IS NULL) OR (abs(change_pct) < '100000000000000'::numeric)))
);


--
-- Name: fxpipe_migration; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.fxpipe_migration (
    name character varying(255) NOT NULL,
    "timestamp" character varying(255) NOT NULL,
    checksum text
);


--
-- Name: fxpipe_run_lock; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.fxpipe_run_lock (
    lock_name text NOT NULL,
    CONSTRAINT fxpipe_run_lock_lock_name_check CHECK ((lock_name = 'run'::text))
);


--
-- Name: fxpipe_settings; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.fxpipe_settings (
    only_row boolean DEFAULT true NOT NULL,
    max_rate_age interval DEFAULT '7 days'::interval NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    consensus_tolerance_pct numeric DEFAULT 1 NOT NULL,
    CONSTRAINT fxpipe_settings_consensus_tolerance_pct_check CHECK ((consensus_tolerance_pct > (0)::numeric)),
    CONSTRAINT fxpipe_settings_max_rate_age_check CHECK ((max_rate_age > '00:00:00'::interval)),
    CONSTRAINT fxpipe_settings_only_row_check CHECK (only_row)
);


--
-- Name: history_version; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.history_version (
    only_row boolean DEFAULT true NOT NULL,
    version bigint NOT NULL,
    CONSTRAINT history_version_only_row_check CHECK (only_row)
);


--
-- Name: pipeline_runs; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.pipeline_runs (
    run_id uuid DEFAULT gen_random_uuid() NOT NULL,
    kind text NOT NULL,
    started_at timestamp with time zone DEFAULT now() NOT NULL,
    finished_at timestamp with time zone,
    status text DEFAULT 'running'::text NOT NULL,
    source_used text,
    failover boolean DEFAULT false NOT NULL,
    extracted_count integer DEFAULT 0 NOT NULL,
    loaded_count integer DEFAULT 0 NOT NULL,
    unchanged_count integer DEFAULT 0 NOT NULL,
    rejected_count integer DEFAULT 0 NOT NULL,
    stage_ms jsonb DEFAULT '{}'::jsonb NOT NULL,
    error text,
    CONSTRAINT pipeline_runs_kind_check CHECK ((kind = ANY (ARRAY['scheduled'::text, 'manual'::text, 'backfill'::text, 'reprocess'::text, 'demo'::text]))),
    CONSTRAINT pipeline_runs_status_check CHECK ((status = ANY (ARRAY['running'::text, 'loaded'::text, 'unchanged'::text, 'failed'::text])))
);


--
-- Name: production_checks_check_row_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.production_checks ALTER COLUMN check_row_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.production_checks_check_row_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: rejected_rates; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.rejected_rates (
    rejected_id bigint NOT NULL,
    extraction_id uuid,
    run_id uuid,
    source_name text NOT NULL,
    base_code text,
    quote_code text,
    raw_value text,
    reason text NOT NULL,
    detail text,
    rejected_at timestamp with time zone DEFAULT now() NOT NULL
);


--
-- Name: rejected_rates_rejected_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.rejected_rates ALTER COLUMN rejected_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.rejected_rates_rejected_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: scheduler_instances; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.scheduler_instances (
    instance_id uuid NOT NULL,
    hostname text NOT NULL,
    pid integer NOT NULL,
    cron text NOT NULL,
    timezone text NOT NULL,
    started_at timestamp with time zone NOT NULL,
    last_seen_at timestamp with time zone NOT NULL,
    next_run_at timestamp with time zone
);


--
-- Name: scheduler_slots; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.scheduler_slots (
    slot_at timestamp with time zone NOT NULL,
    claimed_by uuid NOT NULL,
    claimed_at timestamp with time zone DEFAULT now() NOT NULL,
    catch_up boolean DEFAULT false NOT NULL,
    run_id uuid,
    status text,
    finished_at timestamp with time zone
);


--
-- Name: vw_rates_daily_agg; Type: VIEW; Schema: public; Owner: -
--

CREATE VIEW public.vw_rates_daily_agg AS
 SELECT d.date_key,
    b.currency_code AS base_code,
    q.currency_code AS quote_code,
    s.source_name,
    d.low AS min_rate,
    d.high AS max_rate,
    d.average AS avg_rate,
    d.stddev AS stddev_rate,
    d.observations,
    d.open AS open_rate,
    d.close AS close_rate,
    d.carried
   FROM (((public.rates_daily d
     JOIN public.dim_currency b ON ((b.currency_id = d.base_currency_id)))
     JOIN public.dim_currency q ON ((q.currency_id = d.quote_currency_id)))
     JOIN public.dim_source s ON ((s.source_id = d.source_id)));


--
-- Name: vw_rates_monthly_agg; Type: VIEW; Schema: public; Owner: -
--

CREATE VIEW public.vw_rates_monthly_agg AS
 SELECT m.month_key,
    b.currency_code AS base_code,
    q.currency_code AS quote_code,
    s.source_name,
    m.low AS min_rate,
    m.high AS max_rate,
    m.average AS avg_rate,
    m.stddev AS stddev_rate,
    m.observations,
    m.open AS open_rate,
    m.close AS close_rate,
    m.volatility_pct,
    m.publishing_days,
    m.days_in_force
   FROM (((public.rates_monthly m
     JOIN public.dim_currency b ON ((b.currency_id = m.base_currency_id)))
     JOIN public.dim_currency q ON ((q.currency_id = m.quote_currency_id)))
     JOIN public.dim_source s ON ((s.source_id = m.source_id)));


--
-- Name: fact_rates_history_default; Type: TABLE ATTACH; Schema: public; Owner: -
--

ALTER TABLE ONLY public.fact_rates_history ATTACH PARTITION public.fact_rates_history_default DEFAULT;


--
-- Name: fact_rates_history change_id; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.fact_rates_history ALTER COLUMN change_id SET DEFAULT nextval('public.fact_rates_history_change_id_seq'::regclass);


--
-- Name: alert_log alert_log_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.alert_log
    ADD CONSTRAINT alert_log_pkey PRIMARY KEY (alert_id);


--
-- Name: alert_raised alert_raised_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.alert_raised
    ADD CONSTRAINT alert_raised_pkey PRIMARY KEY (kind, source);


--
-- Name: archive_manifest archive_manifest_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.archive_manifest
    ADD CONSTRAINT archive_manifest_pkey PRIMARY KEY (month);


--
-- Name: backfill_chunks backfill_chunks_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.backfill_chunks
    ADD CONSTRAINT backfill_chunks_pkey PRIMARY KEY (source_name, chunk_from, chunk_to, content_sha256, change_threshold_pct);


--
-- Name: bronze_extraction bronze_extraction_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.bronze_extraction
    ADD CONSTRAINT bronze_extraction_pkey PRIMARY KEY (extraction_id);


--
-- Name: dim_currency dim_currency_currency_code_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.dim_currency
    ADD CONSTRAINT dim_currency_currency_code_key UNIQUE (currency_code);


--
-- Name: dim_currency dim_currency_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.dim_currency
    ADD CONSTRAINT dim_currency_pkey PRIMARY KEY (currency_id);


--
-- Name: dim_date dim_date_full_date_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.dim_date
    ADD CONSTRAINT dim_date_full_date_key UNIQUE (full_date);


--
-- Name: dim_date dim_date_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.dim_date
    ADD CONSTRAINT dim_date_pkey PRIMARY KEY (date_key);


--
-- Name: dim_source dim_source_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.dim_source
    ADD CONSTRAINT dim_source_pkey PRIMARY KEY (source_id);


--
-- Name: dim_source dim_source_source_name_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.dim_source
    ADD CONSTRAINT dim_source_source_name_key UNIQUE (source_name);


--
-- Name: fact_rates_current fact_rates_current_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.fact_rates_current
    ADD CONSTRAINT fact_rates_current_pkey PRIMARY KEY (base_currency_id, quote_currency_id, source_id);


--
-- Name: fact_rates_history fact_rates_history_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.fact_rates_history
    ADD CONSTRAINT fact_rates_history_pkey PRIMARY KEY (base_currency_id, quote_currency_id, source_id, date_key, rate_timestamp);


--
-- Name: fact_rates_history_default fact_rates_history_default_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.fact_rates_history_default
    ADD CONSTRAINT fact_rates_history_default_pkey PRIMARY KEY (base_currency_id, quote_currency_id, source_id, date_key, rate_timestamp);


--
-- Name: fxpipe_migration fxpipe_migration_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.fxpipe_migration
    ADD CONSTRAINT fxpipe_migration_pkey PRIMARY KEY (name);


--
-- Name: fxpipe_run_lock fxpipe_run_lock_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.fxpipe_run_lock
    ADD CONSTRAINT fxpipe_run_lock_pkey PRIMARY KEY (lock_name);


--
-- Name: fxpipe_settings fxpipe_settings_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.fxpipe_settings
    ADD CONSTRAINT fxpipe_settings_pkey PRIMARY KEY (only_row);


--
-- Name: history_version history_version_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.history_version
    ADD CONSTRAINT history_version_pkey PRIMARY KEY (only_row);


--
-- Name: pipeline_runs pipeline_runs_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.pipeline_runs
    ADD CONSTRAINT pipeline_runs_pkey PRIMARY KEY (run_id);


--
-- Name: production_checks production_checks_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.production_checks
    ADD CONSTRAINT production_checks_pkey PRIMARY KEY (check_row_id);


--
-- Name: rates_daily rates_daily_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.rates_daily
    ADD CONSTRAINT rates_daily_pkey PRIMARY KEY (source_id, base_currency_id, date_key, quote_currency_id);


--
-- Name: rates_monthly rates_monthly_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.rates_monthly
    ADD CONSTRAINT rates_monthly_pkey PRIMARY KEY (source_id, base_currency_id, month_key, quote_currency_id);


--
-- Name: rejected_rates rejected_rates_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.rejected_rates
    ADD CONSTRAINT rejected_rates_pkey PRIMARY KEY (rejected_id);


--
-- Name: scheduler_instances scheduler_instances_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.scheduler_instances
    ADD CONSTRAINT scheduler_instances_pkey PRIMARY KEY (instance_id);


--
-- Name: scheduler_slots scheduler_slots_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.scheduler_slots
    ADD CONSTRAINT scheduler_slots_pkey PRIMARY KEY (slot_at);


--
-- Name: source_publications source_publications_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.source_publications
    ADD CONSTRAINT source_publications_pkey PRIMARY KEY (source_id, base_currency_id, as_of);


--
-- Name: alert_log_sent_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX alert_log_sent_idx ON public.alert_log USING btree (sent_at DESC);


--
-- Name: bronze_extraction_run_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX bronze_extraction_run_idx ON public.bronze_extraction USING btree (run_id);


--
-- Name: bronze_extraction_source_time_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX bronze_extraction_source_time_idx ON public.bronze_extraction USING btree (source_name, extracted_at);


--
-- Name: fact_rates_current_codes; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX fact_rates_current_codes ON public.fact_rates_current USING btree (base_code, quote_code);


--
-- Name: fact_rates_history_change_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX fact_rates_history_change_id_idx ON ONLY public.fact_rates_history USING btree (change_id);


--
-- Name: fact_rates_history_default_change_id_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX fact_rates_history_default_change_id_idx ON public.fact_rates_history_default USING btree (change_id);


--
-- Name: pipeline_runs_started_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX pipeline_runs_started_idx ON public.pipeline_runs USING btree (started_at DESC);


--
-- Name: production_checks_check_row; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX production_checks_check_row ON public.production_checks USING btree (check_id, check_row_id);


--
-- Name: rates_daily_pair; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX rates_daily_pair ON public.rates_daily USING btree (base_currency_id, quote_currency_id, source_id, make_date((date_key / 10000), ((date_key / 100) % 100), (date_key % 100))) INCLUDE (date_key, open, high, low, close, average, stddev, observations, carried);


--
-- Name: rates_monthly_pair; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX rates_monthly_pair ON public.rates_monthly USING btree (base_currency_id, quote_currency_id, source_id, month_key);


--
-- Name: rates_monthly_pair_month; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX rates_monthly_pair_month ON public.rates_monthly USING btree (base_currency_id, quote_currency_id, source_id, make_date((month_key / 100), (month_key % 100), 1));


--
-- Name: rejected_rates_time_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX rejected_rates_time_idx ON public.rejected_rates USING btree (rejected_at);


--
-- Name: fact_rates_history_default_change_id_idx; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.fact_rates_history_change_id_idx ATTACH PARTITION public.fact_rates_history_default_change_id_idx;


--
-- Name: fact_rates_history_default_pkey; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.fact_rates_history_pkey ATTACH PARTITION public.fact_rates_history_default_pkey;


--
-- Name: dim_source dim_source_tier; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER dim_source_tier AFTER UPDATE OF source_name, rank ON public.dim_source FOR EACH ROW EXECUTE FUNCTION public.fx_source_tier_changed();


--
-- Name: fact_rates_current fact_rates_current_codes; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER fact_rates_current_codes BEFORE INSERT OR UPDATE OF base_currency_id, quote_currency_id, source_id ON public.fact_rates_current FOR EACH ROW EXECUTE FUNCTION public.fx_current_codes();


--
-- Name: fxpipe_settings fxpipe_settings_max_rate_age; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER fxpipe_settings_max_rate_age AFTER UPDATE OF max_rate_age ON public.fxpipe_settings FOR EACH ROW EXECUTE FUNCTION public.fx_max_rate_age_changed();


--
-- Name: fact_rates_history history_written; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER history_written AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON public.fact_rates_history FOR EACH STATEMENT EXECUTE FUNCTION public.fx_history_written();


--
-- Name: fact_rates_history_default history_written; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER history_written AFTER INSERT OR DELETE OR UPDATE OR TRUNCATE ON public.fact_rates_history_default FOR EACH STATEMENT EXECUTE FUNCTION public.fx_history_written();


--
-- Name: backfill_chunks backfill_chunks_extraction_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.backfill_chunks
    ADD CONSTRAINT backfill_chunks_extraction_id_fkey FOREIGN KEY (extraction_id) REFERENCES public.bronze_extraction(extraction_id);


--
-- Name: fact_rates_current fact_rates_current_base_currency_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.fact_rates_current
    ADD CONSTRAINT fact_rates_current_base_currency_id_fkey FOREIGN KEY (base_currency_id) REFERENCES public.dim_currency(currency_id);


--
-- Name: fact_rates_current fact_rates_current_last_extraction_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.fact_rates_current
    ADD CONSTRAINT fact_rates_current_last_extraction_id_fkey FOREIGN KEY (last_extraction_id) REFERENCES public.bronze_extraction(extraction_id);


--
-- Name: fact_rates_current fact_rates_current_quote_currency_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.fact_rates_current
    ADD CONSTRAINT fact_rates_current_quote_currency_id_fkey FOREIGN KEY (quote_currency_id) REFERENCES public.dim_currency(currency_id);


--
-- Name: fact_rates_current fact_rates_current_source_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.fact_rates_current
    ADD CONSTRAINT fact_rates_current_source_id_fkey FOREIGN KEY (source_id) REFERENCES public.dim_source(source_id);


--
-- Name: fact_rates_history fact_rates_history_base_currency_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE public.fact_rates_history
    ADD CONSTRAINT fact_rates_history_base_currency_id_fkey FOREIGN KEY (base_currency_id) REFERENCES public.dim_currency(currency_id);


--
-- Name: fact_rates_history fact_rates_history_date_key_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE public.fact_rates_history
    ADD CONSTRAINT fact_rates_history_date_key_fkey FOREIGN KEY (date_key) REFERENCES public.dim_date(date_key);


--
-- Name: fact_rates_history fact_rates_history_extraction_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE public.fact_rates_history
    ADD CONSTRAINT fact_rates_history_extraction_id_fkey FOREIGN KEY (extraction_id) REFERENCES public.bronze_extraction(extraction_id);


--
-- Name: fact_rates_history fact_rates_history_quote_currency_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE public.fact_rates_history
    ADD CONSTRAINT fact_rates_history_quote_currency_id_fkey FOREIGN KEY (quote_currency_id) REFERENCES public.dim_currency(currency_id);


--
-- Name: fact_rates_history fact_rates_history_source_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE public.fact_rates_history
    ADD CONSTRAINT fact_rates_history_source_id_fkey FOREIGN KEY (source_id) REFERENCES public.dim_source(source_id);


--
-- Name: rejected_rates rejected_rates_extraction_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.rejected_rates
    ADD CONSTRAINT rejected_rates_extraction_id_fkey FOREIGN KEY (extraction_id) REFERENCES public.bronze_extraction(extraction_id);


--
-- Name: source_publications source_publications_base_currency_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.source_publications
    ADD CONSTRAINT source_publications_base_currency_id_fkey FOREIGN KEY (base_currency_id) REFERENCES public.dim_currency(currency_id);


--
-- Name: source_publications source_publications_source_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.source_publications
    ADD CONSTRAINT source_publications_source_id_fkey FOREIGN KEY (source_id) REFERENCES public.dim_source(source_id);


--
-- Name: FUNCTION consensus_rate(base text, quote text, at timestamp with time zone); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.consensus_rate(base text, quote text, at timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION currencies_in_force(at timestamp with time zone); Type: ACL; Schema: api; Owner: -
--

REVOKE ALL ON FUNCTION api.currencies_in_force(at timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION lo_creat(integer); Type: ACL; Schema: pg_catalog; Owner: -
--

REVOKE ALL ON FUNCTION pg_catalog.lo_creat(integer) FROM PUBLIC;


--
-- Name: FUNCTION lo_create(oid); Type: ACL; Schema: pg_catalog; Owner: -
--

REVOKE ALL ON FUNCTION pg_catalog.lo_create(oid) FROM PUBLIC;


--
-- Name: FUNCTION lo_from_bytea(oid, bytea); Type: ACL; Schema: pg_catalog; Owner: -
--

REVOKE ALL ON FUNCTION pg_catalog.lo_from_bytea(oid, bytea) FROM PUBLIC;


--
-- Name: FUNCTION pg_advisory_lock(bigint); Type: ACL; Schema: pg_catalog; Owner: -
--

REVOKE ALL ON FUNCTION pg_catalog.pg_advisory_lock(bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION pg_catalog.pg_advisory_lock(bigint) TO CURRENT_USER;


--
-- Name: FUNCTION pg_advisory_lock(integer, integer); Type: ACL; Schema: pg_catalog; Owner: -
--

REVOKE ALL ON FUNCTION pg_catalog.pg_advisory_lock(integer, integer) FROM PUBLIC;
GRANT ALL ON FUNCTION pg_catalog.pg_advisory_lock(integer, integer) TO CURRENT_USER;


--
-- Name: FUNCTION pg_advisory_lock_shared(bigint); Type: ACL; Schema: pg_catalog; Owner: -
--

REVOKE ALL ON FUNCTION pg_catalog.pg_advisory_lock_shared(bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION pg_catalog.pg_advisory_lock_shared(bigint) TO CURRENT_USER;


--
-- Name: FUNCTION pg_advisory_lock_shared(integer, integer); Type: ACL; Schema: pg_catalog; Owner: -
--

REVOKE ALL ON FUNCTION pg_catalog.pg_advisory_lock_shared(integer, integer) FROM PUBLIC;
GRANT ALL ON FUNCTION pg_catalog.pg_advisory_lock_shared(integer, integer) TO CURRENT_USER;


--
-- Name: FUNCTION pg_advisory_unlock(bigint); Type: ACL; Schema: pg_catalog; Owner: -
--

REVOKE ALL ON FUNCTION pg_catalog.pg_advisory_unlock(bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION pg_catalog.pg_advisory_unlock(bigint) TO CURRENT_USER;


--
-- Name: FUNCTION pg_advisory_unlock(integer, integer); Type: ACL; Schema: pg_catalog; Owner: -
--

REVOKE ALL ON FUNCTION pg_catalog.pg_advisory_unlock(integer, integer) FROM PUBLIC;
GRANT ALL ON FUNCTION pg_catalog.pg_advisory_unlock(integer, integer) TO CURRENT_USER;


--
-- Name: FUNCTION pg_advisory_unlock_all(); Type: ACL; Schema: pg_catalog; Owner: -
--

REVOKE ALL ON FUNCTION pg_catalog.pg_advisory_unlock_all() FROM PUBLIC;
GRANT ALL ON FUNCTION pg_catalog.pg_advisory_unlock_all() TO CURRENT_USER;


--
-- Name: FUNCTION pg_advisory_unlock_shared(bigint); Type: ACL; Schema: pg_catalog; Owner: -
--

REVOKE ALL ON FUNCTION pg_catalog.pg_advisory_unlock_shared(bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION pg_catalog.pg_advisory_unlock_shared(bigint) TO CURRENT_USER;


--
-- Name: FUNCTION pg_advisory_unlock_shared(integer, integer); Type: ACL; Schema: pg_catalog; Owner: -
--

REVOKE ALL ON FUNCTION pg_catalog.pg_advisory_unlock_shared(integer, integer) FROM PUBLIC;
GRANT ALL ON FUNCTION pg_catalog.pg_advisory_unlock_shared(integer, integer) TO CURRENT_USER;


--
-- Name: FUNCTION pg_advisory_xact_lock(bigint); Type: ACL; Schema: pg_catalog; Owner: -
--

REVOKE ALL ON FUNCTION pg_catalog.pg_advisory_xact_lock(bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION pg_catalog.pg_advisory_xact_lock(bigint) TO CURRENT_USER;


--
-- Name: FUNCTION pg_advisory_xact_lock(integer, integer); Type: ACL; Schema: pg_catalog; Owner: -
--

REVOKE ALL ON FUNCTION pg_catalog.pg_advisory_xact_lock(integer, integer) FROM PUBLIC;
GRANT ALL ON FUNCTION pg_catalog.pg_advisory_xact_lock(integer, integer) TO CURRENT_USER;


--
-- Name: FUNCTION pg_advisory_xact_lock_shared(bigint); Type: ACL; Schema: pg_catalog; Owner: -
--

REVOKE ALL ON FUNCTION pg_catalog.pg_advisory_xact_lock_shared(bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION pg_catalog.pg_advisory_xact_lock_shared(bigint) TO CURRENT_USER;


--
-- Name: FUNCTION pg_advisory_xact_lock_shared(integer, integer); Type: ACL; Schema: pg_catalog; Owner: -
--

REVOKE ALL ON FUNCTION pg_catalog.pg_advisory_xact_lock_shared(integer, integer) FROM PUBLIC;
GRANT ALL ON FUNCTION pg_catalog.pg_advisory_xact_lock_shared(integer, integer) TO CURRENT_USER;


--
-- Name: FUNCTION pg_try_advisory_lock(bigint); Type: ACL; Schema: pg_catalog; Owner: -
--

REVOKE ALL ON FUNCTION pg_catalog.pg_try_advisory_lock(bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION pg_catalog.pg_try_advisory_lock(bigint) TO CURRENT_USER;


--
-- Name: FUNCTION pg_try_advisory_lock(integer, integer); Type: ACL; Schema: pg_catalog; Owner: -
--

REVOKE ALL ON FUNCTION pg_catalog.pg_try_advisory_lock(integer, integer) FROM PUBLIC;
GRANT ALL ON FUNCTION pg_catalog.pg_try_advisory_lock(integer, integer) TO CURRENT_USER;


--
-- Name: FUNCTION pg_try_advisory_lock_shared(bigint); Type: ACL; Schema: pg_catalog; Owner: -
--

REVOKE ALL ON FUNCTION pg_catalog.pg_try_advisory_lock_shared(bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION pg_catalog.pg_try_advisory_lock_shared(bigint) TO CURRENT_USER;


--
-- Name: FUNCTION pg_try_advisory_lock_shared(integer, integer); Type: ACL; Schema: pg_catalog; Owner: -
--

REVOKE ALL ON FUNCTION pg_catalog.pg_try_advisory_lock_shared(integer, integer) FROM PUBLIC;
GRANT ALL ON FUNCTION pg_catalog.pg_try_advisory_lock_shared(integer, integer) TO CURRENT_USER;


--
-- Name: FUNCTION pg_try_advisory_xact_lock(bigint); Type: ACL; Schema: pg_catalog; Owner: -
--

REVOKE ALL ON FUNCTION pg_catalog.pg_try_advisory_xact_lock(bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION pg_catalog.pg_try_advisory_xact_lock(bigint) TO CURRENT_USER;


--
-- Name: FUNCTION pg_try_advisory_xact_lock(integer, integer); Type: ACL; Schema: pg_catalog; Owner: -
--

REVOKE ALL ON FUNCTION pg_catalog.pg_try_advisory_xact_lock(integer, integer) FROM PUBLIC;
GRANT ALL ON FUNCTION pg_catalog.pg_try_advisory_xact_lock(integer, integer) TO CURRENT_USER;


--
-- Name: FUNCTION pg_try_advisory_xact_lock_shared(bigint); Type: ACL; Schema: pg_catalog; Owner: -
--

REVOKE ALL ON FUNCTION pg_catalog.pg_try_advisory_xact_lock_shared(bigint) FROM PUBLIC;
GRANT ALL ON FUNCTION pg_catalog.pg_try_advisory_xact_lock_shared(bigint) TO CURRENT_USER;


--
-- Name: FUNCTION pg_try_advisory_xact_lock_shared(integer, integer); Type: ACL; Schema: pg_catalog; Owner: -
--

REVOKE ALL ON FUNCTION pg_catalog.pg_try_advisory_xact_lock_shared(integer, integer) FROM PUBLIC;
GRANT ALL ON FUNCTION pg_catalog.pg_try_advisory_xact_lock_shared(integer, integer) TO CURRENT_USER;


--
-- Name: FUNCTION fx_change_pct(p_from numeric, p_to numeric); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION public.fx_change_pct(p_from numeric, p_to numeric) FROM PUBLIC;


--
-- Name: FUNCTION fx_chosen_legs(p_from smallint, p_to smallint, p_at timestamp with time zone); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION public.fx_chosen_legs(p_from smallint, p_to smallint, p_at timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION fx_consensus_at(p_base smallint, p_quote smallint, p_at timestamp with time zone); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION public.fx_consensus_at(p_base smallint, p_quote smallint, p_at timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION fx_consensus_of(p_names text[], p_rates numeric[], p_as_ofs timestamp with time zone[], p_tolerance numeric, OUT rate numeric, OUT as_of timestamp with time zone, OUT source_count integer, OUT sources text[], OUT spread_pct numeric, OUT excluded jsonb); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION public.fx_consensus_of(p_names text[], p_rates numeric[], p_as_ofs timestamp with time zone[], p_tolerance numeric, OUT rate numeric, OUT as_of timestamp with time zone, OUT source_count integer, OUT sources text[], OUT spread_pct numeric, OUT excluded jsonb) FROM PUBLIC;


--
-- Name: FUNCTION fx_consensus_pair(p_names text[], p_base_rates numeric[], p_quote_rates numeric[], p_base_as_ofs timestamp with time zone[], p_quote_as_ofs timestamp with time zone[], p_same boolean, p_tolerance numeric, OUT rate numeric, OUT as_of timestamp with time zone, OUT source_count integer, OUT sources text[], OUT spread_pct numeric, OUT excluded jsonb); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION public.fx_consensus_pair(p_names text[], p_base_rates numeric[], p_quote_rates numeric[], p_base_as_ofs timestamp with time zone[], p_quote_as_ofs timestamp with time zone[], p_same boolean, p_tolerance numeric, OUT rate numeric, OUT as_of timestamp with time zone, OUT source_count integer, OUT sources text[], OUT spread_pct numeric, OUT excluded jsonb) FROM PUBLIC;


--
-- Name: FUNCTION fx_consensus_tolerance_pct(); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION public.fx_consensus_tolerance_pct() FROM PUBLIC;


--
-- Name: FUNCTION fx_current_codes(); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION public.fx_current_codes() FROM PUBLIC;


--
-- Name: FUNCTION fx_date_key(p_at timestamp with time zone); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION public.fx_date_key(p_at timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION fx_day_start(p_day date); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION public.fx_day_start(p_day date) FROM PUBLIC;


--
-- Name: FUNCTION fx_derive_publications(p_source smallint); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION public.fx_derive_publications(p_source smallint) FROM PUBLIC;


--
-- Name: FUNCTION fx_ensure_dates(p_from date, p_to date); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION public.fx_ensure_dates(p_from date, p_to date) FROM PUBLIC;


--
-- Name: FUNCTION fx_ensure_partitions(p_from date, p_to date); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION public.fx_ensure_partitions(p_from date, p_to date) FROM PUBLIC;


--
-- Name: FUNCTION fx_history_written(); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION public.fx_history_written() FROM PUBLIC;


--
-- Name: FUNCTION fx_in_force(p_base smallint, p_quote smallint, p_at timestamp with time zone); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION public.fx_in_force(p_base smallint, p_quote smallint, p_at timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION fx_in_force_until(p_as_of timestamp with time zone); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION public.fx_in_force_until(p_as_of timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION fx_last_publication(p_base smallint, p_quote smallint, p_at timestamp with time zone, OUT as_of timestamp with time zone, OUT source text); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION public.fx_last_publication(p_base smallint, p_quote smallint, p_at timestamp with time zone, OUT as_of timestamp with time zone, OUT source text) FROM PUBLIC;


--
-- Name: FUNCTION fx_last_stored_rate(p_base smallint, p_quote smallint, p_source smallint, p_at timestamp with time zone); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION public.fx_last_stored_rate(p_base smallint, p_quote smallint, p_source smallint, p_at timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION fx_leg_value(p_currency smallint, p_source smallint, p_as_of timestamp with time zone, p_quote_ids smallint[]); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION public.fx_leg_value(p_currency smallint, p_source smallint, p_as_of timestamp with time zone, p_quote_ids smallint[]) FROM PUBLIC;


--
-- Name: FUNCTION fx_lock_calendar(); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION public.fx_lock_calendar() FROM PUBLIC;


--
-- Name: FUNCTION fx_max_rate_age(); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION public.fx_max_rate_age() FROM PUBLIC;


--
-- Name: FUNCTION fx_max_rate_age_changed(); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION public.fx_max_rate_age_changed() FROM PUBLIC;


--
-- Name: FUNCTION fx_month_archived(p_month date); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION public.fx_month_archived(p_month date) FROM PUBLIC;


--
-- Name: FUNCTION fx_partition_name(p_month date); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION public.fx_partition_name(p_month date) FROM PUBLIC;


--
-- Name: FUNCTION fx_publications_at(p_at timestamp with time zone); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION public.fx_publications_at(p_at timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION fx_raise_archived(p_quote smallint, p_source smallint, p_as_of timestamp with time zone); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION public.fx_raise_archived(p_quote smallint, p_source smallint, p_as_of timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION fx_raise_not_in_force(p_code text, p_usd smallint, p_quote smallint, p_at timestamp with time zone, p_now boolean); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION public.fx_raise_not_in_force(p_code text, p_usd smallint, p_quote smallint, p_at timestamp with time zone, p_now boolean) FROM PUBLIC;


--
-- Name: FUNCTION fx_rate_in_force(p_base smallint, p_quote smallint, p_source smallint, p_at timestamp with time zone, OUT rate numeric, OUT as_of timestamp with time zone); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION public.fx_rate_in_force(p_base smallint, p_quote smallint, p_source smallint, p_at timestamp with time zone, OUT rate numeric, OUT as_of timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION fx_rebuild_days(p_source smallint, p_base smallint, p_from date, p_to date); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION public.fx_rebuild_days(p_source smallint, p_base smallint, p_from date, p_to date) FROM PUBLIC;


--
-- Name: FUNCTION fx_refresh_current(p_source smallint); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION public.fx_refresh_current(p_source smallint) FROM PUBLIC;


--
-- Name: FUNCTION fx_resumed_pairs(p_source smallint, p_from timestamp with time zone, p_to timestamp with time zone); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION public.fx_resumed_pairs(p_source smallint, p_from timestamp with time zone, p_to timestamp with time zone) FROM PUBLIC;


--
-- Name: FUNCTION fx_source_tier_changed(); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION public.fx_source_tier_changed() FROM PUBLIC;


--
-- Name: FUNCTION fx_track_history_writes(p_table regclass); Type: ACL; Schema: public; Owner: -
--

REVOKE ALL ON FUNCTION public.fx_track_history_writes(p_table regclass) FROM PUBLIC;


--
-- Name: DEFAULT PRIVILEGES FOR FUNCTIONS; Type: DEFAULT ACL; Schema: -; Owner: -
--

ALTER DEFAULT PRIVILEGES FOR ROLE CURRENT_USER REVOKE ALL ON FUNCTIONS  FROM PUBLIC;
