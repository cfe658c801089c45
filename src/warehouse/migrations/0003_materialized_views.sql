-- Read models, each with a unique index so it can be refreshed CONCURRENTLY.

create materialized view vw_rates_latest as
select b.currency_code as base_code,
       q.currency_code as quote_code,
       s.source_name,
       s.tier as source_tier,
       f.rate,
       f.rate_timestamp,
       f.previous_rate,
       f.change_pct,
       f.change_reason,
       f.flags,
       f.updated_at
from fact_rates_current f
join dim_currency b on b.currency_id = f.base_currency_id
join dim_currency q on q.currency_id = f.quote_currency_id
join dim_source s on s.source_id = f.source_id;
create unique index vw_rates_latest_key on vw_rates_latest (base_code, quote_code, source_name);

create materialized view vw_rates_daily_agg as
select h.date_key,
       b.currency_code as base_code,
       q.currency_code as quote_code,
       s.source_name,
       min(h.rate) as min_rate,
       max(h.rate) as max_rate,
       avg(h.rate) as avg_rate,
       stddev_samp(h.rate) as stddev_rate,
       count(*) as observations,
       (array_agg(h.rate order by h.rate_timestamp asc))[1] as open_rate,
       (array_agg(h.rate order by h.rate_timestamp desc))[1] as close_rate
from fact_rates_history h
join dim_currency b on b.currency_id = h.base_currency_id
join dim_currency q on q.currency_id = h.quote_currency_id
join dim_source s on s.source_id = h.source_id
group by h.date_key, b.currency_code, q.currency_code, s.source_name;
create unique index vw_rates_daily_agg_key on vw_rates_daily_agg (base_code, quote_code, source_name, date_key);

create materialized view vw_rates_monthly_agg as
select (h.date_key / 100) as month_key,
       b.currency_code as base_code,
       q.currency_code as quote_code,
       s.source_name,
       min(h.rate) as min_rate,
       max(h.rate) as max_rate,
       avg(h.rate) as avg_rate,
       stddev_samp(h.rate) as stddev_rate,
       count(*) as observations,
       (array_agg(h.rate order by h.rate_timestamp asc))[1] as open_rate,
       (array_agg(h.rate order by h.rate_timestamp desc))[1] as close_rate,
       round(stddev_samp(h.rate) / nullif(avg(h.rate), 0) * 100, 6) as volatility_pct
from fact_rates_history h
join dim_currency b on b.currency_id = h.base_currency_id
join dim_currency q on q.currency_id = h.quote_currency_id
join dim_source s on s.source_id = h.source_id
group by h.date_key / 100, b.currency_code, q.currency_code, s.source_name;
create unique index vw_rates_monthly_agg_key on vw_rates_monthly_agg (base_code, quote_code, source_name, month_key);

-- One pair across sources: each source's latest rate against the primary source's
-- (or, without a primary, the median of the sources) as deviation_pct.
create materialized view vw_rates_comparison as
with latest as (
    select f.base_currency_id, f.quote_currency_id, f.source_id, f.rate, f.rate_timestamp, f.flags, s.tier
    from fact_rates_current f
    join dim_source s on s.source_id = f.source_id
),
reference as (
    select base_currency_id, quote_currency_id,
           coalesce(max(rate) filter (where tier = 'primary'),
                    percentile_cont(0.5) within group (order by rate)::numeric) as reference_rate,
           count(*) as source_count
    from latest
    group by base_currency_id, quote_currency_id
)
select b.currency_code as base_code,
       q.currency_code as quote_code,
       s.source_name,
       l.tier as source_tier,
       l.rate,
       l.rate_timestamp,
       r.reference_rate,
       r.source_count,
       round((l.rate - r.reference_rate) / r.reference_rate * 100, 6) as deviation_pct,
       l.flags
from latest l
join reference r using (base_currency_id, quote_currency_id)
join dim_currency b on b.currency_id = l.base_currency_id
join dim_currency q on q.currency_id = l.quote_currency_id
join dim_source s on s.source_id = l.source_id;
create unique index vw_rates_comparison_key on vw_rates_comparison (base_code, quote_code, source_name);
