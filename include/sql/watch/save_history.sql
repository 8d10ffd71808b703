-- purpose: record one check of a watch hour (a second watch run in the same hour replaces the first)
insert into tenant_watch_history
    (spec, run_no, check_name, watch_hour, watch_run_id, table_name, found_rows, new_rows, passed, sample_ids,
     checked_at)
values
    (%(spec)s, %(run_no)s, %(check_name)s, %(watch_hour)s, %(watch_run_id)s, %(table_name)s, %(found_rows)s,
     %(new_rows)s, %(passed)s, %(sample_ids)s, utc_timestamp(6))
on duplicate key update
    watch_run_id = values(watch_run_id),
    table_name = values(table_name),
    found_rows = values(found_rows),
    new_rows = values(new_rows),
    passed = values(passed),
    sample_ids = values(sample_ids),
    checked_at = values(checked_at)
