-- The consensus, linear in the rows asked for (issue 26). 0018's fx_consensus_many found the legs of every row in
-- one materialized set, then joined the rows to it. Its row estimates came from arrays the planner cannot see into
-- (10 rows each), so on a warehouse without fresh statistics it merged the legs on the source alone and filtered
-- (currency, instant) afterwards: quadratic in the rows (10,000 rows: 28 million rows removed by the join filter).
-- Here each row's legs are index probes made for that row: plain SQL functions without a SET clause, which the
-- planner inlines into the caller, so a check of many rows is a nested loop of probes, whatever the statistics say.

drop function fx_consensus_many(smallint[], smallint[], timestamptz[]);
drop function fx_legs_in_force(smallint[], timestamptz[]);

-- USD→currency in a source's publication: 1 for USD; the pair's last history row at or before the publication on
-- its day, else the day's close or open as fx_rate_in_force (0012) reads them; null when the publication did not
-- carry the currency, or the value is in an archived day's history (the source does not answer from PostgreSQL).
-- USD's id is a scalar subquery: evaluated once per statement, however many rows call this.
create function fx_leg_value(p_currency smallint, p_source smallint, p_as_of timestamptz, p_quote_ids smallint[])
returns table (rate numeric)
language sql stable as $$
    select case
        when p_currency = (select c.currency_id from public.dim_currency c where c.currency_code = 'USD') then 1::numeric
        when p_currency = any (p_quote_ids) then coalesce(
            (select h.rate from public.fact_rates_history h
              where h.base_currency_id = (select c.currency_id from public.dim_currency c where c.currency_code = 'USD')
                and h.quote_currency_id = p_currency and h.source_id = p_source
                and h.date_key = public.fx_date_key(p_as_of) and h.rate_timestamp <= p_as_of
              order by h.rate_timestamp desc limit 1),
            (select case when d.close_as_of = p_as_of then d.close
                         when d.changes = 0 then d.open
                         when exists (select 1 from public.fact_rates_history h
                                       where h.base_currency_id = d.base_currency_id and h.quote_currency_id = p_currency
                                         and h.source_id = p_source and h.date_key = d.date_key) then d.open end
               from public.rates_daily d
              where d.source_id = p_source
                and d.base_currency_id = (select c.currency_id from public.dim_currency c where c.currency_code = 'USD')
                and d.date_key = public.fx_date_key(p_as_of) and d.quote_currency_id = p_currency))
    end
$$;

-- Each source's two legs of a pair at an instant: the source's latest USD-based publication at or before p_at, when
-- it is at most fxpipe_settings.max_rate_age old then (the in-force rule of fx_rate_in_force, 0012), with its
-- USD→base and USD→quote values (fx_leg_value). One row per source with a publication in force.
create function fx_pair_legs(p_base smallint, p_quote smallint, p_at timestamptz)
returns table (source_id smallint, source_name text, as_of timestamptz, base_rate numeric, quote_rate numeric)
language sql stable as $$
    select s.source_id, s.source_name::text, p.as_of, b.rate, q.rate
      from public.dim_source s
     cross join lateral (select x.as_of, x.quote_ids from public.source_publications x
                          where x.source_id = s.source_id and x.as_of <= p_at
                            and x.base_currency_id = (select c.currency_id from public.dim_currency c where c.currency_code = 'USD')
                          order by x.as_of desc limit 1) p
     cross join lateral public.fx_leg_value(p_base, s.source_id, p.as_of, p.quote_ids) b
     cross join lateral public.fx_leg_value(p_quote, s.source_id, p.as_of, p.quote_ids) q
     where p_at - p.as_of <= (select f.max_rate_age from public.fxpipe_settings f)
$$;

-- The consensus of a pair at an instant (fx_consensus_pair over its sources' legs, names sorted); no row when no
-- source has the pair in force then. The tolerance is fxpipe_settings.consensus_tolerance_pct. api.consensus_rate,
-- api.consensus_rates and fxpipe verify all go through it: one logic.
create function fx_consensus_at(p_base smallint, p_quote smallint, p_at timestamptz)
returns table (rate numeric, as_of timestamptz, source_count integer, sources text[], spread_pct numeric, excluded jsonb)
language sql stable as $$
    select c.rate, c.as_of, c.source_count, c.sources, c.spread_pct, c.excluded
      from (select array_agg(l.source_name order by l.source_name) as names,
                   array_agg(l.base_rate order by l.source_name) as base_rates,
                   array_agg(l.quote_rate order by l.source_name) as quote_rates,
                   array_agg(l.as_of order by l.source_name) as as_ofs
              from public.fx_pair_legs(p_base, p_quote, p_at) l) legs
     cross join lateral public.fx_consensus_pair(legs.names, legs.base_rates, legs.quote_rates, legs.as_ofs, legs.as_ofs, p_base = p_quote,
                                                 (select f.consensus_tolerance_pct from public.fxpipe_settings f)) c
     where legs.names is not null and c.rate is not null
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
          from fx_consensus_at((select currency_id from dim_currency where currency_code = v_base),
                               (select currency_id from dim_currency where currency_code = v_quote),
                               coalesce(consensus_rate."at", now())) c;
end
$$;

revoke execute on function fx_leg_value(smallint, smallint, timestamptz, smallint[]),
    fx_pair_legs(smallint, smallint, timestamptz), fx_consensus_at(smallint, smallint, timestamptz) from public;
