-- purpose: where a resumed phase starts: the last key each of its workers finished, and their shares
select c.phase, c.{{ bk_last_key }} as last_key, c.{{ bk_until_key }} as until_key
from tenant_checkpoints as c
where c.run_no = %(run_no)s
  and (c.phase = %(phase)s or left(c.phase, char_length(%(share_prefix)s)) = %(share_prefix)s)
order by c.{{ bk_last_key }}
