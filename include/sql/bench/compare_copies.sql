-- purpose: rows the seed statement repaired, and how many of them our pipeline gave a different tenant
select
    count(*) as seed_repaired,
    sum(not (p.company_id <=> s.company_id)) as disagreements
from {{ seed_db }}.customers as s
join {{ pipeline_db }}.customers as p on p.id = s.id
join {{ original_db }}.bench_null_ids as o on o.id = s.id
where s.company_id is not null
