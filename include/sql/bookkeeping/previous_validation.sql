-- purpose: whether a spec was validated before this validation (the new-leak check needs a baseline)
select count(*) as earlier
from tenant_validation_runs
where spec = %(spec)s and validation_no < %(validation_no)s
