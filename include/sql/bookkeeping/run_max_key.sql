-- purpose: the largest key that existed when a run registered: its writes stay at or below it
select {{ bk_max_key }} as max_key_before from tenant_runs where run_no = %(run_no)s
