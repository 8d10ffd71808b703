-- purpose: the rows that existed when the run started must all still exist (none inserted or deleted by us)
with run as (
    select max_key_before, row_count_before
    from tenant_runs
    where run_no = {{ run_no | int }}
),
now_present as (
    select count(*) as row_count
    from {batch} as t
    where t.{{ target.key }} <= (select max_key_before from run)
)
select run.row_count_before as row_id, now_present.row_count as rows_now
from run
cross join now_present
where now_present.row_count <> run.row_count_before
