-- purpose: the newest validation of a spec that built Data Docs
select v.validation_no, v.data_docs, v.started_at
from tenant_validation_runs as v
where v.spec = %(spec)s and v.data_docs is not null
order by v.validation_no desc
limit 1
