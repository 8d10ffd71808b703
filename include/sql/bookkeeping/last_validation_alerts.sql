-- purpose: per check of a spec, what on-call was last told about it before this validation and when that failure was paged
select a.check_name, a.status, a.paged_at, a.validation_no
from tenant_validation_alerts as a
join (
    select check_name, max(validation_no) as validation_no
    from tenant_validation_alerts
    where spec = %(spec)s
      and validation_no < %(validation_no)s
    group by check_name
) as l on l.check_name = a.check_name and l.validation_no = a.validation_no
where a.spec = %(spec)s
