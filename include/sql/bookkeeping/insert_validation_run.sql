-- purpose: open a validation of a spec
insert into tenant_validation_runs (spec, run_id, mode, started_at) values (%(spec)s, %(run_id)s, %(mode)s, current_timestamp(6))
