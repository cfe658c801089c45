-- The consensus computed for many rows at once (issue 14's bench: fxpipe verify at ≥ 5,000 rows/s). 0016 looked
-- each leg up with fx_rate_in_force, source by source, in plpgsql: about 0.6 ms a row. Here the legs of every row are
-- found by one statement, and the consensus of each row is arithmetic on arrays. api.consensus_rate,
-- api.consensus_rates and fxpipe verify all go through fx_consensus_many: one logic.

drop function fx_source_legs(smallint, timestamptz);

-- Each source's USD→currency in force at each instant, for every (currency, instant) of the arrays taken pairwise:
-- the in-force rule of fx_rate_in_force (0012), set-based. USD's own leg is 1 from every source with a publication in
-- force. rate is null where the value is in an archived day's history: that source does not answer from PostgreSQL.
create function fx_legs_in_force(p_currencies smallint[], p_ats timestamptz[])
returns table (currency_id smallint, at timestamptz, source_id smallint, rate numeric, as_of timestamptz)
language sql stable set search_path = pg_catalog, public as $$
    with usd as (
        select currency_id as id, fx_max_rate_age() as max_age from dim_currency where currency_code = 'USD'
    ),
    wanted as (
        select distinct w.currency_id, w.at from unnest(p_currencies, p_ats) as w(currency_id, at)
    ),
    publications as (
        select i.at, s.source_id, p.as_of, p.quote_ids
          from (select distinct w.at from wanted w) i
         cross join dim_source s
         cross join usd
         cross join lateral (select x.as_of, x.quote_ids from source_publications x
                              where x.source_id = s.source_id and x.base_currency_id = usd.id and x.as_of <= i.at
                              order by x.as_of desc limit 1) p
         where i.at - p.as_of <= usd.max_age
    )
    select w.currency_id, w.at, p.source_id,
           case when w.currency_id = usd.id then 1::numeric
                else coalesce(
                    (select h.rate from fact_rates_history h
                      where h.base_currency_id = usd.id and h.quote_currency_id = w.currency_id and h.source_id = p.source_id
                        and h.date_key = fx_date_key(p.as_of) and h.rate_timestamp <= p.as_of
                      order by h.rate_timestamp desc limit 1),
                    -- No row up to the publication on its day: the day's close or open, as fx_rate_in_force reads them.
                    (select case when d.close_as_of = p.as_of then d.close
                                 when d.changes = 0 then d.open
                                 when exists (select 1 from fact_rates_history h
                                               where h.base_currency_id = usd.id and h.quote_currency_id = w.currency_id
                                                 and h.source_id = p.source_id and h.date_key = fx_date_key(p.as_of)) then d.open end
                       from rates_daily d
                      where d.source_id = p.source_id and d.base_currency_id = usd.id and d.date_key = fx_date_key(p.as_of)
                        and d.quote_currency_id = w.currency_id)) end,
           p.as_of
      from wanted w
     cross join usd
      join publications p on p.at = w.at and (w.currency_id = usd.id or w.currency_id = any (p.quote_ids))
$$;

-- 0016's median, used by nothing now: fx_consensus_of sorts once and takes medians from the sorted rates.
drop function fx_median(numeric[]);

-- The consensus of one set of sources' rates (names in the order the sources are to be listed; a null rate is no
-- answer): while three or more remain, the source furthest from the median of the others is left out when it is
-- further than p_tolerance %, and the others are tried again (so one outlier among three cannot pull the others out
-- with it); the rate is the median of the sources kept (of two middle ones their mean, times 0.5: exact). All null
-- when there is no answer. Plain arithmetic on a handful of values, no query: it runs once for each row a check holds.
create function fx_consensus_of(p_names text[], p_rates numeric[], p_as_ofs timestamptz[], p_tolerance numeric,
                                out rate numeric, out as_of timestamptz, out source_count integer, out sources text[],
                                out spread_pct numeric, out excluded jsonb)
language plpgsql immutable as $$
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

-- The consensus of a pair from its sources' two legs, aligned by source (null where a source lacks a leg, names
-- sorted): each source with both legs gives one rate, its quote leg over its base leg, as api.convert crosses. When no
-- source has both, each leg is the consensus of its own sources and the rate their quotient. All null when no source
-- answers.
create function fx_consensus_pair(p_names text[], p_base_rates numeric[], p_quote_rates numeric[],
                                  p_base_as_ofs timestamptz[], p_quote_as_ofs timestamptz[], p_same boolean, p_tolerance numeric,
                                  out rate numeric, out as_of timestamptz, out source_count integer, out sources text[],
                                  out spread_pct numeric, out excluded jsonb)
language plpgsql immutable as $$
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

-- The consensus of each (base, quote, instant) of the arrays taken together, i its position (from 1); no row where no
-- source has the pair in force then. The tolerance is fxpipe_settings.consensus_tolerance_pct.
create function fx_consensus_many(p_bases smallint[], p_quotes smallint[], p_ats timestamptz[])
returns table (i integer, rate numeric, as_of timestamptz, source_count integer, sources text[], spread_pct numeric,
               excluded jsonb)
language sql stable set search_path = pg_catalog, public as $$
    with wanted as (
        select w.i::integer as i, w.base_id, w.quote_id, w.at
          from unnest(p_bases, p_quotes, p_ats) with ordinality as w(base_id, quote_id, at, i)
    ),
    legs as materialized (
        select * from fx_legs_in_force(p_bases || p_quotes, p_ats || p_ats) l where l.rate is not null
    ),
    per_source as (
        select w.i, array_agg(s.source_name order by s.source_name) as names,
               array_agg(b.rate order by s.source_name) as base_rates, array_agg(q.rate order by s.source_name) as quote_rates,
               array_agg(b.as_of order by s.source_name) as base_as_ofs, array_agg(q.as_of order by s.source_name) as quote_as_ofs
          from wanted w
         cross join dim_source s
          left join legs b on b.currency_id = w.base_id and b.at = w.at and b.source_id = s.source_id
          left join legs q on q.currency_id = w.quote_id and q.at = w.at and q.source_id = s.source_id
         where b.rate is not null or q.rate is not null
         group by w.i
    )
    select p.i, c.rate, c.as_of, c.source_count, c.sources, c.spread_pct, c.excluded
      from per_source p
      join wanted w on w.i = p.i
     cross join (select fx_consensus_tolerance_pct() as pct) t
     cross join lateral fx_consensus_pair(p.names, p.base_rates, p.quote_rates, p.base_as_ofs, p.quote_as_ofs,
                                          w.base_id = w.quote_id, t.pct) c
     where c.rate is not null
$$;

create or replace function api.consensus_rate(base text, quote text, "at" timestamptz default null)
returns table (base_currency text, quote_currency text, rate numeric, as_of timestamptz, source_count integer,
               sources text[], spread_pct numeric, excluded jsonb)
language plpgsql stable security definer set search_path = pg_catalog, public as $$
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
          from fx_consensus_many(array[(select currency_id from dim_currency where currency_code = v_base)],
                                 array[(select currency_id from dim_currency where currency_code = v_quote)],
                                 array[coalesce(consensus_rate."at", now())]) c;
end
$$;

revoke execute on function fx_legs_in_force(smallint[], timestamptz[]), fx_consensus_of(text[], numeric[], timestamptz[], numeric),
    fx_consensus_pair(text[], numeric[], numeric[], timestamptz[], timestamptz[], boolean, numeric),
    fx_consensus_many(smallint[], smallint[], timestamptz[]) from public;
