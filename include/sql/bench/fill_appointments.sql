-- purpose: about three appointments per customer, as the customer's kind says
insert into appointments (company_id, customer_id, starts_at, created_at, updated_at)
select
    case
        when k.company_id is not null then k.company_id
        when k.kind < 85 then k.company
        when k.kind < 88 then case when s.d = 1 then k.company else 1 + k.company %% %(companies)s end
        else null
    end,
    k.id,
    timestamp '2025-10-01 09:00:00' + interval (k.id %% 1000) hour,
    timestamp '2025-09-01 00:00:00',
    timestamp '2025-09-01 00:00:00'
from (
{% include "bench/_kinds.sql" %}
) as k
join bench_digits as s on s.d between 1 and greatest(1 + k.id %% 5, case when k.kind between 85 and 87 then 2 else 1 end)
where k.company_id is not null or k.kind < 88 or k.kind = 99
