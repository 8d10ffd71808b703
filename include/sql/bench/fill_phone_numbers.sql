-- purpose: one business number per tenant
insert into phone_numbers (id, company_id, number, created_at, updated_at)
select s.n, s.n, concat('+4930', lpad(s.n, 7, '0')), '2024-01-01', '2024-01-01'
from bench_seq as s
where s.n <= %(companies)s
