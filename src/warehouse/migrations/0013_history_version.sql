-- The history's version: a number every statement that writes the history moves, in the writer's own transaction.
-- `fxpipe query` keys its Parquet snapshot of the hot tier by it (with the partition list, the dimensions and the
-- manifest) instead of reading every hot row's xmin: one row read, whatever the size of the history.
--
-- Statement-level triggers on a partitioned table fire only for statements that name it; a statement naming a
-- partition fires that partition's. So the trigger is on the parent (every fxpipe writer names it) and on every
-- partition (a write by hand), and fx_ensure_partitions puts it on each partition it creates. A table attached by
-- hand carries none: the attach moves the key (the partition list is part of it), later writes by hand must name
-- the parent.
create table history_version (
    only_row boolean primary key default true check (only_row),
    version  bigint  not null
);
insert into history_version (only_row, version) values (true, 0);
revoke all on history_version from public;

create function fx_history_written() returns trigger
language plpgsql as $$
begin
    update history_version set version = version + 1;
    return null;
end
$$;

-- Puts the version trigger on p_table (fact_rates_history or one of its partitions) unless it has it.
create function fx_track_history_writes(p_table regclass) returns void
language plpgsql as $$
begin
    if not exists (select 1 from pg_trigger where tgrelid = p_table and tgname = 'history_written') then
        execute format('create trigger history_written after insert or update or delete or truncate on %s '
                       'for each statement execute function fx_history_written()', p_table);
    end if;
end
$$;

select fx_track_history_writes('fact_rates_history'::regclass);
select fx_track_history_writes(inhrelid::regclass) from pg_inherits where inhparent = 'fact_rates_history'::regclass;

create or replace function fx_ensure_partitions(p_from date, p_to date) returns setof text
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

revoke execute on function fx_history_written(), fx_track_history_writes(regclass) from public;
