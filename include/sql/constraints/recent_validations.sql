-- purpose: the newest finished validations of a spec (the constraints need clean_days clean ones in a row)
select v.validation_no, v.passed, date(v.started_at) as day, v.run_id
from tenant_validation_runs as v
where v.spec = %(spec)s and v.finished_at is not null
order by v.validation_no desc
limit %(clean_days)s
