-- purpose: where a resumed phase starts: after the last key it finished
select last_key from tenant_checkpoints where run_no = %(run_no)s and phase = %(phase)s
