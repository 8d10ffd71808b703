-- purpose: where a resumed phase starts (after the last key it finished) and the rows it did so far
select last_key, rows_done from tenant_checkpoints where run_no = %(run_no)s and phase = %(phase)s
