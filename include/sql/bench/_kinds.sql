-- purpose: (shared) what kind of evidence each customer gets
-- NULL-tenant customers: kind < 85 appointments at one company, 85-87 a conflict (two companies),
-- 88-94 phone only, 95-98 orphans, 99 appointments without a company
select
    c.id,
    c.company_id,
    crc32(concat('k', c.id)) %% 100 as kind,
    1 + crc32(concat('m', c.id)) %% %(companies)s as company
from customers as c
