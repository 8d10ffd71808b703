-- purpose: ask the writers of a spec's runs (or of every run) to pause, or one run to cancel
insert into tenant_run_controls (action, scope, run_id, requested_by, requested_at)
values (%(action)s, %(scope)s, %(run_id)s, %(requested_by)s, utc_timestamp(6))
on duplicate key update requested_by = values(requested_by), requested_at = values(requested_at)
