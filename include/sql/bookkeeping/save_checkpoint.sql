-- purpose: remember that a phase finished every key up to last_key (inside the chunk's transaction)
insert into tenant_checkpoints (run_no, phase, {{ bk_last_key }}, chunks, rows_done, updated_at)
values (%(run_no)s, %(phase)s, %(last_key)s, 1, %(rows_done)s, utc_timestamp(6))
on duplicate key update
    {{ bk_last_key }} = values({{ bk_last_key }}),
    chunks = chunks + 1,
    rows_done = rows_done + values(rows_done),
    updated_at = values(updated_at)
