-- purpose: record one finding of a watch hour; one that had gone away and is back counts as new (not yet mailed) again
-- (the assignments run left to right: resolved_hour is read by the others before the last one clears it)
insert into tenant_watch_findings
    (spec, run_no, check_name, row_ref, table_name, detail, appeared_at, first_seen_hour, last_seen_hour,
     last_seen_by, resolved_hour, mailed_at, mailed_by)
values
    (%(spec)s, %(run_no)s, %(check_name)s, %(row_ref)s, %(table_name)s, %(detail)s, %(appeared_at)s, %(watch_hour)s,
     %(watch_hour)s, %(watch_run_id)s, null, null, null)
on duplicate key update
    mailed_at = if(resolved_hour is null, mailed_at, null),
    mailed_by = if(resolved_hour is null, mailed_by, null),
    first_seen_hour = if(resolved_hour is null, first_seen_hour, values(first_seen_hour)),
    appeared_at = if(resolved_hour is null, coalesce(appeared_at, values(appeared_at)), values(appeared_at)),
    detail = values(detail),
    last_seen_hour = values(last_seen_hour),
    last_seen_by = values(last_seen_by),
    resolved_hour = null
