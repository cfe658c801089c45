-- The consensus of the sources (issue 14): for a pair at an instant, the median of the rates in force from every
-- source that has the pair in force, with outliers left out when three or more answer. What `fxpipe verify` compares
-- a company's production rates with.

-- A source further than this from the median of the others is left out of the consensus (three or more sources).
alter table fxpipe_settings add column consensus_tolerance_pct numeric not null default 1
    check (consensus_tolerance_pct > 0);

create function fx_consensus_tolerance_pct() returns numeric
language sql stable parallel safe as $$
    select consensus_tolerance_pct from public.fxpipe_settings
$$;

-- The median of some rates: the middle one, or the mean of the two middle ones (times 0.5: exact, where a division
-- would round).
create function fx_median(p_rates numeric[]) returns numeric
language sql immutable parallel safe as $$
    select case when cardinality(s) = 0 then null
                when cardinality(s) % 2 = 1 then s[(cardinality(s) + 1) / 2]
                else trim_scale((s[cardinality(s) / 2] + s[cardinality(s) / 2 + 1]) * 0.5) end
      from (select array(select r from unnest(p_rates) r where r is not null order by r) as s) x
$$;

-- Each source's USD→p_quote in force at p_at (1 for USD itself), with its publication: none from a source that does
-- not have it in force, nor from one whose value is in the archive.
create function fx_source_legs(p_quote smallint, p_at timestamptz)
returns table (source_id smallint, source_name text, rate numeric, as_of timestamptz)
language plpgsql stable set search_path = pg_catalog, public as $$
declare
    v_usd smallint := (select currency_id from dim_currency where currency_code = 'USD');
    s     record;
    r     record;
begin
    for s in select d.source_id, d.source_name from dim_source d order by d.source_name loop
        if p_quote = v_usd then
            -- USD's own leg: 1 from every source that publishes anything in force at p_at.
            select p.as_of into r from source_publications p
             where p.source_id = s.source_id and p.base_currency_id = v_usd and p.as_of <= p_at
             order by p.as_of desc limit 1;
            continue when r.as_of is null or p_at - r.as_of > fx_max_rate_age();
            source_id := s.source_id; source_name := s.source_name; rate := 1; as_of := r.as_of;
            return next;
            continue;
        end if;
        begin
            r := fx_rate_in_force(v_usd, p_quote, s.source_id, p_at);
        exception when sqlstate 'P0002' then
            continue;  -- in the archive: this source does not answer from PostgreSQL
        end;
        continue when r.rate is null;
        source_id := s.source_id; source_name := s.source_name; rate := r.rate; as_of := r.as_of;
        return next;
    end loop;
end
$$;

-- p_base→p_quote by consensus at p_at (now when null). Each source that has both legs in force gives one rate (its
-- quote leg over its base leg, as api.convert crosses); when three or more give one, the source furthest from the
-- median of the others is left out while it is further than the tolerance, and the others are tried again (so one
-- outlier among three cannot pull the others out with it). The rate is the median of the sources kept. When no source
-- has both legs, each leg is the consensus of its own sources and the rate their quotient. No row when no source
-- has the pair in force; unknown currencies raise 22023 as api.convert does.
create function api.consensus_rate(base text, quote text, "at" timestamptz default null)
returns table (base_currency text, quote_currency text, rate numeric, as_of timestamptz, source_count integer,
               sources text[], spread_pct numeric, excluded jsonb)
language plpgsql stable security definer set search_path = pg_catalog, public as $$
#variable_conflict use_column
declare
    v_base      text := upper(btrim(consensus_rate.base));
    v_quote     text := upper(btrim(consensus_rate.quote));
    v_at        timestamptz := coalesce(consensus_rate."at", now());
    v_tolerance numeric := fx_consensus_tolerance_pct();
    v_base_id   smallint;
    v_quote_id  smallint;
    code        text;
    v_names     text[];
    v_rates     numeric[];
    v_as_ofs    timestamptz[];
    v_excluded  jsonb := '[]';
    v_worst     integer;
    v_worst_dev numeric;
    v_dev       numeric;
    v_median    numeric;
    i           integer;
    f           record;
    t           record;
begin
    foreach code in array array[v_base, v_quote] loop
        if code is null or code !~ '^[A-Z]{3}$' or not exists (select 1 from dim_currency where currency_code = code) then
            raise exception 'unknown currency: %', coalesce(code, 'null')
                using errcode = '22023', hint = 'api.currencies lists the known codes';
        end if;
    end loop;
    v_base_id := (select currency_id from dim_currency where currency_code = v_base);
    v_quote_id := (select currency_id from dim_currency where currency_code = v_quote);

    select array_agg(b.source_name order by b.source_name),
           array_agg(case when v_base = v_quote then 1::numeric else trim_scale(q.rate / b.rate) end order by b.source_name),
           array_agg(least(b.as_of, q.as_of) order by b.source_name)
      into v_names, v_rates, v_as_ofs
      from fx_source_legs(v_base_id, v_at) b
      join fx_source_legs(v_quote_id, v_at) q using (source_id);

    if coalesce(cardinality(v_names), 0) = 0 then
        -- No source has both legs: each leg from its own sources.
        if v_base = 'USD' or v_quote = 'USD' then
            return;
        end if;
        select * into f from api.consensus_rate('USD', v_base, v_at);
        select * into t from api.consensus_rate('USD', v_quote, v_at);
        if f.rate is null or t.rate is null then
            return;
        end if;
        return query select v_base, v_quote, trim_scale(t.rate / f.rate), least(f.as_of, t.as_of),
                            cardinality(array(select distinct unnest(f.sources || t.sources))),
                            array(select distinct s from unnest(f.sources || t.sources) s order by s),
                            null::numeric, f.excluded || t.excluded;
        return;
    end if;

    -- Outliers: while three or more remain, the furthest from the median of the others goes when beyond the tolerance.
    while cardinality(v_rates) >= 3 loop
        v_worst := null;
        v_worst_dev := 0;
        for i in 1 .. cardinality(v_rates) loop
            v_median := fx_median(v_rates[:i - 1] || v_rates[i + 1:]);
            v_dev := abs(v_rates[i] - v_median) / v_median * 100;
            if v_dev > v_tolerance and v_dev > v_worst_dev then
                v_worst := i;
                v_worst_dev := v_dev;
            end if;
        end loop;
        exit when v_worst is null;
        v_median := fx_median(v_rates[:v_worst - 1] || v_rates[v_worst + 1:]);
        v_excluded := v_excluded || jsonb_build_object(
            'source', v_names[v_worst], 'rate', v_rates[v_worst],
            'deviation_pct', round((v_rates[v_worst] - v_median) / v_median * 100, 4),
            'reason', format('%s %% from the median of the others (%s), beyond the tolerance of %s %%',
                             round((v_rates[v_worst] - v_median) / v_median * 100, 4), trim_scale(v_median), v_tolerance));
        v_names := v_names[:v_worst - 1] || v_names[v_worst + 1:];
        v_rates := v_rates[:v_worst - 1] || v_rates[v_worst + 1:];
        v_as_ofs := v_as_ofs[:v_worst - 1] || v_as_ofs[v_worst + 1:];
    end loop;

    v_median := fx_median(v_rates);
    return query select v_base, v_quote, v_median, (select min(a) from unnest(v_as_ofs) a), cardinality(v_rates), v_names,
                        round(((select max(r) from unnest(v_rates) r) - (select min(r) from unnest(v_rates) r)) / v_median * 100, 6),
                        v_excluded;
end
$$;

-- USD→every currency by consensus now: the pairs a production system most often checks, in one read.
create view api.consensus_rates as
select c.base_currency as base, c.quote_currency as quote, c.rate, c.as_of, c.source_count, c.sources, c.spread_pct, c.excluded
  from public.dim_currency q
 cross join lateral api.consensus_rate('USD', q.currency_code) c
 where q.currency_code <> 'USD';

revoke execute on function fx_consensus_tolerance_pct(), fx_median(numeric[]), fx_source_legs(smallint, timestamptz) from public;
