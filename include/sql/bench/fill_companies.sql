-- purpose: the tenants and their business phone numbers
insert into companies (id, name, created_at, updated_at)
select s.n, concat('Company ', s.n), '2024-01-01', '2024-01-01'
from bench_seq as s
where s.n <= %(companies)s
