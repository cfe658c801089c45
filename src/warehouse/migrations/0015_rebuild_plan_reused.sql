-- fx_rebuild_days in two statements: the first reads the history rows at the publications in the days (it reads the
-- history's partitions, so it is planned for each call), the second makes the days and months from them (no
-- partition: a run reuses its plan for the session). Planning the one statement at every call was a fifth of a
-- run's rebuild (`npm run bench:run`). Stretches and history rows are matched by grouping on every path (0014 did
-- so over many days only), and the date keys are computed once, not per row. Otherwise as 0014.
-- A history row at a publication: (pair, publication, rate), passed from the first statement to the second.
create type fx_stored_rate as (
    quote_id smallint,
    pub_at   timestamptz,
    rate     numeric
);

create or replace function fx_rebuild_days(p_source smallint, p_base smallint, p_from date, p_to date) returns integer
language plpgsql as $$
declare
    v_age   interval := fx_max_rate_age();
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
               least(lead(p.as_of) over (order by p.as_of), p.as_of + v_age,
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
