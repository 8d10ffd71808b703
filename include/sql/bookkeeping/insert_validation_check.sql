-- purpose: record one check of a validation in the history
insert into tenant_validation_history
    (validation_no, spec, run_id, check_name, severity, observed_value, passed, sample_ids, checked_at)
values
    (%(validation_no)s, %(spec)s, %(run_id)s, %(check_name)s, %(severity)s, %(observed_value)s, %(passed)s,
     %(sample_ids)s, current_timestamp(6))
