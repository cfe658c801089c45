-- change_pct holds only what every tier holds exactly (issue 26). A currency published at 1e-13 and then at 1 moved by
-- about 1e15 %, which the archive's Parquet DECIMAL(38,24) (and DuckDB's, which `fxpipe query` reads) cannot hold: one
-- such value made every `fxpipe query` fail and kept its month from being archived.
--
-- The rule: change_pct = (rate - previous_rate) / previous_rate * 100 from the exact quotient, rounded to 8 decimals
-- (ties away from zero, as round() does), and null when that is 1e14 % or more: 14 integer digits, DECIMAL(38,24)'s.
-- Such a move is a trillion-fold rate, which only a provider's error publishes; rate and previous_rate still give it.
-- fx_change_pct is the rule for the writers in SQL; storedChangePct (src/transform/change-filter.ts) the same rule for
-- the values fxpipe computes before it sends them (a backfill's COPY cannot call a function). The CHECK constraints
-- below refuse any other value, whoever writes it.

create function fx_change_pct(p_from numeric, p_to numeric) returns numeric
language sql immutable strict parallel safe as $$
    -- round(|move| * 10^10 / from) = floor((2 * |move| * 10^10 + from) / (2 * from)): div() truncates exactly, where
    -- round(move / from * 100, 8) would first round the quotient to the scale numeric division picks (as few as 4 decimals).
    select case when units < 1e22 then sign(p_to - p_from) * units * 0.00000001 end
      from (select div(2 * abs(p_to - p_from) * 10000000000 + p_from, 2 * p_from) as units) u
$$;

-- Warehouses loaded before this rule may hold such values: they become null, as the rule stores them now.
update fact_rates_history set change_pct = null where abs(change_pct) >= 1e14;
update fact_rates_current set change_pct = null where abs(change_pct) >= 1e14;

alter table fact_rates_history add constraint fact_rates_history_change_pct_fits check (change_pct is null or abs(change_pct) < 1e14);
alter table fact_rates_current add constraint fact_rates_current_change_pct_fits check (change_pct is null or abs(change_pct) < 1e14);
