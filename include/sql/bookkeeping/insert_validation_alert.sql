-- purpose: record what on-call was told about one check of a validation (a paged failure gets the time of this mail; a known one keeps its page's)
insert into tenant_validation_alerts
    (validation_no, spec, run_id, check_name, status, observed_value, paged, paged_at, recorded_at)
values
    (%(validation_no)s, %(spec)s, %(run_id)s, %(check_name)s, %(status)s, %(observed_value)s, %(paged)s,
     case when %(paged)s = 1 and %(status)s <> 'resolved' then utc_timestamp(6) else %(paged_at)s end,
     utc_timestamp(6))
on duplicate key update
    status = values(status),
    observed_value = values(observed_value),
    paged = values(paged),
    paged_at = values(paged_at),
    recorded_at = values(recorded_at)
