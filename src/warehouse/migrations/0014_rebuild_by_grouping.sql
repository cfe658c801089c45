-- fx_rebuild_days over many days (a backfill chunk): each stretch (publication, pair) found its history row by a
-- lookup by key, 6 to 7 µs each, a third of a backfill's rebuild. Over 28 days or more it now reads the days' history
-- rows of the source in one scan and matches them to the stretches by grouping; a run's few days keep the lookups.
-- One stretch per (publication, pair carried), clipped to the days rebuilt.
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
begin
    if p_to < p_from then
        return 0;
    end if;
    select max(as_of) into v_last from source_publications where source_id = p_source and base_currency_id = p_base;
    select max(as_of) into v_before from source_publications where source_id = p_source and base_currency_id = p_base and as_of < v_lo;
    if extract(day from p_from) > 1 then
        v_earlier := array(select m.quote_currency_id from rates_monthly m
                            where m.source_id = p_source and m.base_currency_id = p_base and m.month_key = fx_date_key(v_lo) / 100
                           except
                           select d.quote_currency_id from rates_daily d
                            where d.source_id = p_source and d.base_currency_id = p_base and d.date_key = fx_date_key(v_lo - interval '1 day'));
    end if;

    delete from rates_daily d
     where d.source_id = p_source and d.base_currency_id = p_base
       and d.date_key between fx_date_key(v_lo) and fx_date_key(v_hi - interval '1 microsecond')
       and not (d.date_key / 100 = any (v_archived));

    -- A month's row is its last day's month so far: that day is rebuilt, or (a pair no longer in force on the days
    -- rebuilt) the last day before p_from.
    delete from rates_monthly m
     where m.source_id = p_source and m.base_currency_id = p_base
       and m.month_key between fx_date_key(v_lo) / 100 and fx_date_key(v_hi - interval '1 microsecond') / 100
       and not (m.month_key = any (v_archived));

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
    -- The close of the publication before the days on its day, every pair's: one range of rows, joined by hash
    -- (materialized: not looked up again per stretch).
    before_close as materialized (
        select k.quote_currency_id, k.close from rates_daily k
         where k.source_id = p_source and k.base_currency_id = p_base
           and k.date_key = fx_date_key(v_before) and k.close_as_of = v_before
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
    -- a day rebuilt; else null (the value before it, filled in below).
    -- Many days: the days' history rows of the source in one scan and the closes of the publication before the days,
    -- grouped with the stretches by (pair, publication). A join of stretches and history rows is never planned: a plan
    -- made without statistics (a chunk just loaded, not yet analyzed) turned one into a scan of each pair's rows per
    -- stretch. A few days (a run): each stretch looks its row up by key.
    segments as (
        select s.quote_id, s.pub_at, s.seg_from, s.seg_to, h.rate is not null as changed, coalesce(h.rate, b.close, k.close) as rate
          from stretches s
          left join before_close b on s.pub_at = v_before and b.quote_currency_id = s.quote_id
          left join lateral (
                select h.rate from fact_rates_history h
                 where s.pub_at >= v_lo
                   and h.base_currency_id = p_base and h.quote_currency_id = s.quote_id and h.source_id = p_source
                   and h.date_key = fx_date_key(s.pub_at) and h.rate_timestamp = s.pub_at
                   and h.date_key between fx_date_key(v_lo) and fx_date_key(v_hi)
                 limit 1) h on true
          left join lateral (
                select k.close from rates_daily k
                 where cardinality(v_archived) > 0 and s.pub_at >= v_lo and fx_date_key(s.pub_at) / 100 = any (v_archived)
                   and k.source_id = p_source and k.base_currency_id = p_base and k.quote_currency_id = s.quote_id
                   and k.date_key = fx_date_key(s.pub_at) and k.close_as_of = s.pub_at
                 limit 1) k on true
         where not v_bulk
        union all
        select x.quote_id, x.pub_at, max(x.seg_from), max(x.seg_to), bool_or(x.stored), coalesce(max(x.rate) filter (where x.stored), max(x.rate))
          from (select s.quote_id, s.pub_at, s.seg_from, s.seg_to, null::numeric as rate, false as stored from stretches s
                union all
                select h.quote_currency_id, h.rate_timestamp, null, null, h.rate, true from fact_rates_history h
                 where h.source_id = p_source and h.base_currency_id = p_base
                   and h.rate_timestamp >= v_lo and h.rate_timestamp < v_hi
                   -- the days' partitions only (pruned when planned): the cost does not grow with the months stored
                   and h.date_key between fx_date_key(v_lo) and fx_date_key(v_hi)
                union all
                select b.quote_currency_id, v_before, null, null, b.close, false from before_close b
                union all
                select k.quote_currency_id, k.close_as_of, null, null, k.close, false from rates_daily k
                 where cardinality(v_archived) > 0 and k.source_id = p_source and k.base_currency_id = p_base
                   and k.date_key between fx_date_key(v_lo) and fx_date_key(v_hi)
                   and k.date_key / 100 = any (v_archived) and k.date_key = fx_date_key(k.close_as_of)) x
         where v_bulk
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
                            and d.date_key = fx_date_key(v_lo - interval '1 day') and d.quote_currency_id = g.quote_id),
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
           and k.source_id = p_source and k.base_currency_id = p_base and k.date_key = fx_date_key(v_lo - interval '1 day')
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
          left join earlier e on e.quote_currency_id = d.quote_id and d.date_key / 100 = fx_date_key(v_lo) / 100
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
                        select * from earlier where not (fx_date_key(v_lo) / 100 = any (v_archived))) k
                 order by k.quote_currency_id, k.date_key / 100, k.date_key desc) l
    )
    select count(*) into v_rows from written;
    return v_rows;
end
$$;
