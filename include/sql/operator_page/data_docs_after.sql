-- purpose: the first validation of a spec that built Data Docs at or after a moment (a run's end), else none
select v.validation_no, v.data_docs, v.started_at
from tenant_validation_runs as v
where v.spec = %(spec)s and v.data_docs is not null and v.started_at >= %(after)s
order by v.validation_no
limit 1
