-- A check's first row in one index step: the dashboard and `fxpipe status` walk back from the newest check to the
-- ones before it (a check's rows are contiguous in check_row_id: one check is stored at a time).
create index production_checks_check_row on production_checks (check_id, check_row_id);
drop index production_checks_check;
