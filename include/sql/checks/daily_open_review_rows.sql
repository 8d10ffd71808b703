-- purpose: rows still waiting in the review queue for a person's decision
select q.{{ bk_key }} as row_id, q.reason, q.candidates
from {batch} as t
join tenant_review_queue as q on {{ bk_match("q", "t." ~ target.key) }}
where q.status = 'open'
  and q.spec = (select spec from tenant_validation_runs where validation_no = {{ validation_no | int }})
order by q.{{ bk_key }}
