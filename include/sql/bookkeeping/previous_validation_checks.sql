-- purpose: per check of a spec, its newest result before this validation (a skipped check is no result): what the alert compares with
select h.check_name, h.passed, h.observed_value, h.sample_ids, h.validation_no, h.checked_at
from tenant_validation_history as h
join (
    select check_name, max(validation_no) as validation_no
    from tenant_validation_history
    where spec = %(spec)s
      and validation_no < %(validation_no)s
      and observed_value not like 'skipped%%'
    group by check_name
) as p on p.check_name = h.check_name and p.validation_no = h.validation_no
where h.spec = %(spec)s
