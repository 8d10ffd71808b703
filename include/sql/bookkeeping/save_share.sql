-- purpose: record one worker's share of a phase before it starts, so a resumed phase keeps the same shares
insert into tenant_checkpoints (run_no, phase, {{ bk_last_key }}, {{ bk_until_key }}, chunks, rows_done, updated_at)
values (%(run_no)s, %(phase)s, %(last_key)s, %(until_key)s, 0, 0, utc_timestamp(6))
