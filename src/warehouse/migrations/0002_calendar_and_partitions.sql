-- dim_date filling and monthly partition management, callable from SQL by every access path.

-- Both functions below take this one transaction-level lock: concurrent callers (two runs, a run and
-- `db maintain`, two `db init`) serialise instead of deadlocking on dim_date's two unique indexes
-- or tripping over each other's CREATE TABLE.
create function fx_lock_calendar() returns void
language sql as $$
    select pg_advisory_xact_lock(hashtext('fxpipe.calendar'))
$$;

create function fx_ensure_dates(p_from date, p_to date) returns integer
language plpgsql as $$
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

create function fx_partition_name(p_month date) returns text
language sql immutable as $$
    select 'fact_rates_history_y' || to_char(p_month, 'YYYY') || 'm' || to_char(p_month, 'MM')
$$;

-- Creates the monthly partitions covering p_from .. p_to (inclusive) that do not exist yet.
-- Rows already caught by the default partition for such a month are moved into the new partition
-- in the same transaction, so creating a partition never fails because of them.
-- Returns the names of the partitions created.
create function fx_ensure_partitions(p_from date, p_to date) returns setof text
language plpgsql as $$
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
