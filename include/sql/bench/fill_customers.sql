-- purpose: n customers, 25%% with a NULL tenant, 1%% soft-deleted (deterministic: CRC32 of the id)
insert into customers (id, company_id, name, email, phone, created_at, updated_at, deleted_at)
select
    s.n,
    case when crc32(concat('t', s.n)) %% 100 < 25 then null else 1 + s.n %% %(companies)s end,
    concat('Customer ', s.n),
    concat('c', s.n, '@example.org'),
    concat('+49171', lpad(s.n, 8, '0')),
    timestamp '2025-01-01 00:00:00' + interval (s.n %% 20000000) second,
    timestamp '2025-01-01 00:00:00' + interval (s.n %% 20000000) second,
    case when crc32(concat('d', s.n)) %% 100 = 0 then timestamp '2025-06-01 00:00:00' end
from bench_seq as s
where s.n <= %(n)s
