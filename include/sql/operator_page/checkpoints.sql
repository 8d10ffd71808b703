-- purpose: what the engine recorded per phase share of the given runs: chunks, rows and the time of the last chunk
select c.run_no, c.phase, c.chunks, c.rows_done, c.updated_at
from tenant_checkpoints as c
where c.run_no in %(run_nos)s
order by c.run_no, c.updated_at, c.phase
