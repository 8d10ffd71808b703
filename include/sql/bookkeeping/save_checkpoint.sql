-- purpose: remember that a phase finished every key up to last_key (inside the chunk's transaction)
insert into tenant_checkpoints (run_no, phase, last_key, chunks, updated_at)
values (%(run_no)s, %(phase)s, %(last_key)s, 1, utc_timestamp(6))
on duplicate key update last_key = values(last_key), chunks = chunks + 1, updated_at = values(updated_at)
