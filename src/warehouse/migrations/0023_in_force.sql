-- One rule for what is in force (issue 28), written once; every reader builds on it.
--
-- A source's rate of a currency is in force at an instant t when the source's latest USD-based publication at or before
-- t carried the currency, and t is at most the warehouse's maximum rate age (fxpipe_settings.max_rate_age) after that
-- publication. Its value is the one that publication carried (fx_leg_value, 0022). Three functions state it:
--   fx_in_force_until(as_of)   when a publication stops being in force on its own (a later one ends it sooner);
--   fx_publications_at(t)      each source's publication at t, and whether it is in force then;
--   fx_in_force(base, quote, t) each source's two legs of a pair at t, with their values.
-- Built on them: fx_rate_in_force, api.usd_rate, api.convert, the consensus (fx_consensus_at), the current rows' status
-- (fx_refresh_current: what the latest views and the conversions now read), api.currencies_in_force (the rule, for
-- readers), the read models' stretches (fx_rebuild_days), the pairs that resume (fx_resumed_pairs), and in fxpipe's
-- TypeScript the conversions of archived months and the backup families' days. Earlier versions restated the rule in
-- each.

drop function fx_consensus_at(smallint, smallint, timestamptz);
drop function fx_pair_legs(smallint, smallint, timestamptz);
drop function fx_leg_value(smallint, smallint, timestamptz, smallint[]);

create function fx_in_force_until(p_as_of timestamptz) returns timestamptz
language sql stable parallel safe as $$
    select p_as_of + max_rate_age from public.fxpipe_settings
$$;

-- Each source's latest USD-based publication at or before p_at (none: the source has no row), the currencies it
-- carried, and whether it is in force at p_at. The order of the sources' ranks, for the callers that choose one.
create function fx_publications_at(p_at timestamptz)
returns table (source_id smallint, source_name text, source_order integer, as_of timestamptz, quote_ids smallint[], in_force boolean)
language sql stable as $$
    select s.source_id, s.source_name::text, api.source_rank(s.rank), p.as_of, p.quote_ids, p_at <= public.fx_in_force_until(p.as_of)
      from public.dim_source s
     cross join lateral (select x.as_of, x.quote_ids from public.source_publications x
                          where x.source_id = s.source_id and x.as_of <= p_at
                            and x.base_currency_id = (select c.currency_id from public.dim_currency c where c.currency_code = 'USD')
                          order by x.as_of desc limit 1) p
$$;

-- The USD→currency value a source's publication at p_as_of carried (USD itself: 1); null when the publication did
-- not carry it (p_quote_ids null or without it) or its day's history is archived. The day's read-model row answers
-- first (its primary key, a plan cached once): its close when the close is the publication's own (a source publishing
-- once a day, every day: the ECB, Frankfurter, open.er-api), its open when nothing moved that day. Else the history
-- row of the publication's day at or before it, else the day's open when the day's moves all came later.
--
-- The history lookup is planned for the day's one partition each call (EXECUTE … USING: the values are constants to
-- the planner, ~0.15 ms whatever the length of history). A cached plan over fact_rates_history would lock every
-- monthly partition on each call, and building it once per session plans them all: its cost grew with the history
-- (27 years: 1 ms a call, and 0.35 s to build).
create function fx_leg_value(p_currency smallint, p_source smallint, p_as_of timestamptz, p_quote_ids smallint[])
returns numeric
language plpgsql stable set search_path = pg_catalog, public as $$
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
$$;

-- Each source's two legs of a pair at p_at: its publication then (fx_publications_at), whether it carried each
-- currency (USD: always), and each value (fx_leg_value; looked up only while the publication is in force; null when
-- the value is in an archived day's history).
create function fx_in_force(p_base smallint, p_quote smallint, p_at timestamptz)
returns table (source_id smallint, source_name text, source_order integer, as_of timestamptz, in_force boolean,
               base_carried boolean, quote_carried boolean, base_rate numeric, quote_rate numeric)
language sql stable as $$
    select p.source_id, p.source_name, p.source_order, p.as_of, p.in_force,
           p_base = (select c.currency_id from public.dim_currency c where c.currency_code = 'USD') or p_base = any (p.quote_ids),
           p_quote = (select c.currency_id from public.dim_currency c where c.currency_code = 'USD') or p_quote = any (p.quote_ids),
           public.fx_leg_value(p_base, p.source_id, p.as_of, case when p.in_force then p.quote_ids end),
           public.fx_leg_value(p_quote, p.source_id, p.as_of, case when p.in_force then p.quote_ids end)
      from public.fx_publications_at(p_at) p
$$;

-- The currencies each source has at an instant (now when null), one row each, with its publication and whether it is
-- in force then: the rule for readers (definer rights: the latest views call it for them).
create function api.currencies_in_force("at" timestamptz default null)
returns table (source text, currency text, as_of timestamptz, in_force boolean)
language sql stable security definer set search_path = pg_catalog, public as $$
    select p.source_name, c.currency_code::text, p.as_of, p.in_force
      from fx_publications_at(coalesce(currencies_in_force."at", now())) p
     cross join unnest(p.quote_ids) as q(id)
      join dim_currency c on c.currency_id = q.id
$$;

-- The pairs of a source's publications from p_from through p_to that start a stretch in force: the publication before
-- each did not carry the pair, or was no longer in force at it. The change rule stores their value even when it
-- repeats the last stored one (a value in force again is a new fact). USD-based publications of the source.
create function fx_resumed_pairs(p_source smallint, p_from timestamptz, p_to timestamptz)
returns table (as_of timestamptz, quote_id smallint)
language sql stable as $$
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

-- The consensus on the legs in force (0022's, on fx_in_force).
create function fx_consensus_at(p_base smallint, p_quote smallint, p_at timestamptz)
returns table (rate numeric, as_of timestamptz, source_count integer, sources text[], spread_pct numeric, excluded jsonb)
language sql stable as $$
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

-- A value in force whose history is archived: refusing beats answering from another source.
create function fx_raise_archived(p_quote smallint, p_source smallint, p_as_of timestamptz) returns void
language plpgsql stable set search_path = pg_catalog, public as $$
begin
    raise exception 'the rate of % from % at % is in the archive (%): fxpipe query and serve''s /api/v1/convert read it',
        (select currency_code from dim_currency where currency_id = p_quote),
        (select source_name from dim_source where source_id = p_source), p_as_of, to_char(p_as_of at time zone 'UTC', 'YYYY-MM')
        using errcode = 'P0002';
end
$$;

-- base→quote from one source in force at p_at (base: USD), with the publication it comes from; null when not in force.
-- Two steps, as every lookup of one value at an instant: the publication (fx_publications_at), then its value
-- (fx_leg_value, planned for that one day's partition).
create or replace function fx_rate_in_force(p_base smallint, p_quote smallint, p_source smallint, p_at timestamptz,
                                            out rate numeric, out as_of timestamptz)
language plpgsql stable set search_path = pg_catalog, public as $$
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

-- The publications a conversion between two currencies other than USD takes its legs from at p_at: both from the best
-- ranked source whose publication in force carries both, else each from the best ranked source whose publication in
-- force carries it. One row per leg in force (leg 'from' or 'to'); a leg not in force has none. The one place of that
-- choice at an instant: api.convert asks it, and serve, when a leg's month is archived, reads the values it names.
create function fx_chosen_legs(p_from smallint, p_to smallint, p_at timestamptz)
returns table (leg text, currency_id smallint, source_id smallint, source_name text, as_of timestamptz, quote_ids smallint[])
language sql stable as $$
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

-- USD→code in force at p_at (now when null) from the best ranked source that has it in force. Raises P0002 naming the
-- currency, its last value's time and source when no source has it in force (its value archived: naming the month).
create or replace function api.usd_rate(p_code text, p_at timestamptz default null,
                                        out rate numeric, out as_of timestamptz, out source text)
language plpgsql stable security definer set search_path = pg_catalog, public as $$
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

-- amount in `from` expressed in `to`, with the rates in force at `at` (now when null): both legs from one source when
-- one source has both in force (the best ranked such), else each from its own best ranked source (api.usd_rate).
create or replace function api.convert(amount numeric, "from" text, "to" text, "at" timestamptz default null)
returns table (from_amount numeric, from_currency text, to_currency text, rate numeric, converted numeric,
               as_of timestamptz, from_source text, to_source text)
language plpgsql stable security definer set search_path = pg_catalog, public as $$
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
$$;

-- What is in force now, kept on the current rows (reads near the floor): a current row holds the value of its source's
-- latest publication that carried the pair; whether that is in force now follows from two facts written with it:
-- whether the source's latest publication carried the pair (else retired), and until when that publication is in
-- force (fx_in_force_until). The latest views, api.convert and api.usd_rate without an instant read them: the rule,
-- applied once per publication (fx_refresh_current, called by the publication writer and when max_rate_age changes)
-- instead of once per read.
alter table fact_rates_current add column retired boolean not null default false;
alter table fact_rates_current add column in_force_until timestamptz;

-- The source's current rows brought in line with its latest publication: retired when it left the pair out (or the
-- source has none), in force until that publication is no longer. Every writer of publications calls it (the
-- publication writer, a change of max_rate_age); a publication loaded behind the latest changes nothing here.
create function fx_refresh_current(p_source smallint) returns void
language sql as $$
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

select fx_refresh_current(source_id) from dim_source;

-- What follows from max_rate_age, made again whenever it changes, whoever changes it (fxpipe db settings, or an UPDATE
-- by hand): which days each rate is in force on (every day's and month's read models, those of archived months kept),
-- and until when each current row is.
create function fx_max_rate_age_changed() returns trigger
language plpgsql set search_path = pg_catalog, public as $$
begin
    if new.max_rate_age is distinct from old.max_rate_age then
        perform fx_rebuild_days(source_id, base_currency_id, (min(as_of) at time zone 'UTC')::date, (max(as_of) at time zone 'UTC')::date)
           from source_publications group by source_id, base_currency_id;
        perform fx_refresh_current(source_id) from dim_source;
    end if;
    return null;
end
$$;

create trigger fxpipe_settings_max_rate_age after update of max_rate_age on fxpipe_settings
    for each row execute function fx_max_rate_age_changed();

-- The current rows carry their codes and their source's name and tier (kept by triggers from the dimensions), so that
-- the latest views and conversions read this one table by its codes: joining the three dimensions cost more to plan
-- than the read itself.
alter table fact_rates_current add column base_code text, add column quote_code text,
                               add column source_name text, add column source_tier text;
update fact_rates_current f
   set base_code = b.currency_code, quote_code = q.currency_code, source_name = s.source_name, source_tier = s.rank
  from dim_currency b, dim_currency q, dim_source s
 where b.currency_id = f.base_currency_id and q.currency_id = f.quote_currency_id and s.source_id = f.source_id;
alter table fact_rates_current alter column base_code set not null, alter column quote_code set not null,
                               alter column source_name set not null, alter column source_tier set not null;
create index fact_rates_current_codes on fact_rates_current (base_code, quote_code);

create function fx_current_codes() returns trigger
language plpgsql set search_path = pg_catalog, public as $$
begin
    new.base_code := (select currency_code from dim_currency where currency_id = new.base_currency_id);
    new.quote_code := (select currency_code from dim_currency where currency_id = new.quote_currency_id);
    select source_name, rank into new.source_name, new.source_tier from dim_source where source_id = new.source_id;
    return new;
end
$$;

create trigger fact_rates_current_codes before insert or update of base_currency_id, quote_currency_id, source_id
    on fact_rates_current for each row execute function fx_current_codes();

-- A source re-ranked (its tier from the configuration): its current rows follow.
create function fx_source_tier_changed() returns trigger
language plpgsql set search_path = pg_catalog, public as $$
begin
    update fact_rates_current set source_name = new.source_name, source_tier = new.rank
     where source_id = new.source_id and (source_name, source_tier) is distinct from (new.source_name, new.rank);
    return null;
end
$$;

create trigger dim_source_tier after update of source_name, rank on dim_source
    for each row execute function fx_source_tier_changed();

-- Every pair's rate from every source as of now, with its status: retired (its source's latest publication left the
-- pair out), stale (that publication is no longer in force) or current. The one place of that rule: api.usd_rate and
-- api.convert read their current rows through this view. (Inline, not a function of its own: a view's functions are
-- called with the reader's rights, and readers execute nothing in public.)
create or replace view vw_rates_latest as
select f.base_code,
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
       case when f.retired then 'retired' when now() > f.in_force_until then 'stale' else 'current' end as status
from fact_rates_current f;

-- Every ordered pair of currencies whose two USD legs are in force now, with the legs chosen: both from one source when
-- one source has both (the best ranked such), else each from its own best ranked source. The one place of that choice
-- now: api.cross_rates lists it, api.convert converts with it, and serve keeps it per data version to convert at the
-- latest rates without asking again.
create view vw_latest_pairs as
with legs as not materialized (
    select v.quote_code as currency, v.source_name as source, v.source_tier, v.rate, v.rate_timestamp as as_of
      from public.vw_rates_latest v
     where v.base_code = 'USD' and v.status = 'current'
    union all
    select 'USD', s.source_name, s.rank, 1::numeric, null::timestamptz from public.dim_source s
     where exists (select 1 from public.vw_rates_latest v where v.source_name = s.source_name and v.status = 'current')
),
pairs as (
    select a.currency as from_currency, b.currency as to_currency, a.rate as rate_from, b.rate as rate_to,
           case when a.currency = 'USD' then b.as_of when b.currency = 'USD' then a.as_of else least(a.as_of, b.as_of) end as as_of,
           a.source as from_source, b.source as to_source,
           row_number() over (partition by a.currency, b.currency
                              order by (a.source = b.source) desc,
                                       api.source_rank(a.source_tier) + api.source_rank(b.source_tier),
                                       api.source_rank(a.source_tier), a.source, b.source) as choice
      from legs a cross join legs b
)
select from_currency, to_currency, rate_from, rate_to, trim_scale(rate_to / rate_from) as rate, as_of, from_source, to_source
  from pairs where choice = 1;

-- Any → any from the USD rates in force (0012's rule), on the current rows alone.
create or replace view api.cross_rates as
select from_currency, to_currency, rate, as_of, from_source, to_source from public.vw_latest_pairs;

-- A year of one pair's months read by its index (the view filters on the month's date).
create index rates_monthly_pair_month on rates_monthly
    (base_currency_id, quote_currency_id, source_id, make_date(month_key / 100, month_key % 100, 1));

-- The read models' stretches end where a publication stops being in force (0015's, on fx_in_force_until).
create or replace function fx_rebuild_days(p_source smallint, p_base smallint, p_from date, p_to date) returns integer
language plpgsql as $$
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

revoke execute on function fx_in_force_until(timestamptz), fx_publications_at(timestamptz), fx_leg_value(smallint, smallint, timestamptz, smallint[]), fx_chosen_legs(smallint, smallint, timestamptz),
    fx_in_force(smallint, smallint, timestamptz), fx_resumed_pairs(smallint, timestamptz, timestamptz),
    fx_consensus_at(smallint, smallint, timestamptz), fx_raise_archived(smallint, smallint, timestamptz),
    fx_refresh_current(smallint), fx_max_rate_age_changed(), fx_current_codes(), fx_source_tier_changed() from public;
