-- purpose: the newest validations (every spec), each with its checks counted: failed critical ones, warnings, names
select
    v.validation_no, v.spec, v.run_id, v.mode, v.passed, v.data_docs, v.started_at, v.finished_at,
    count(h.id) as checks,
    coalesce(sum(h.passed = 0 and h.severity = 'critical'), 0) as failed,
    coalesce(sum(h.passed = 0 and h.severity <> 'critical'), 0) as warnings,
    group_concat(case when h.passed = 0 then h.check_name end order by h.id separator ', ') as not_passed
from tenant_validation_runs as v
left join tenant_validation_history as h on h.validation_no = v.validation_no
group by v.validation_no, v.spec, v.run_id, v.mode, v.passed, v.data_docs, v.started_at, v.finished_at
order by v.validation_no desc
limit %(limit)s
