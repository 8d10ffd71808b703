-- purpose: calls: phone-only customers call one company's number; every tenth customer calls its own
insert into calls (company_id, customer_id, from_number, to_number, created_at, updated_at)
select
    null,
    k.id,
    concat('+49171', lpad(k.id, 8, '0')),
    concat('+4930', lpad(coalesce(k.company_id, k.company), 7, '0')),
    timestamp '2025-09-01 00:00:00',
    timestamp '2025-09-01 00:00:00'
from (
{% include "bench/_kinds.sql" %}
) as k
where (k.company_id is null and k.kind between 88 and 94)
   or (k.company_id is not null and k.id %% 10 = 0)
