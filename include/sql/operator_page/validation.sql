-- purpose: one validation and its checks, in the order they were recorded
select v.validation_no, v.spec, v.run_id, v.mode, v.passed, v.data_docs, v.started_at, v.finished_at,
       h.check_name, h.severity, h.observed_value, h.passed as check_passed, h.sample_ids
from tenant_validation_runs as v
left join tenant_validation_history as h on h.validation_no = v.validation_no
where v.validation_no = %(validation_no)s
order by h.id
