-- Indexes for the read paths of the api schema; `npm run bench:queries` measures them (5 years, 162 currencies).

-- One pair's daily aggregates over a date range: api.daily_rates where base, quote, source and date between … .
-- Keyed by the pair, the source and the calendar date of date_key (make_date is immutable, so it can be indexed),
-- covering every column api.daily_rates returns: a year of one pair is one range of adjacent index leaves, read
-- without visiting the heap (index-only scan: a refresh rewrites few rows, and (auto)vacuum keeps the pages
-- all-visible). Without it a year read ~1,850 scattered pages of the materialized view.
-- With api.daily_rates as 0007 defines it (date from a join to dim_date on date_key) the planner reads the pair's
-- whole history from this index (index-only) and hash-joins the year's dates; if api.daily_rates computes `date`
-- as this same make_date(…) expression of date_key, the date range becomes part of the index condition.
create index vw_rates_daily_agg_pair_date on vw_rates_daily_agg
    (base_code, quote_code, source_name, make_date(date_key / 10000, date_key / 100 % 100, date_key % 100))
    include (date_key, open_rate, max_rate, min_rate, close_rate, avg_rate, stddev_rate, observations);
