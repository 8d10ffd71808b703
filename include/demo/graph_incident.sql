-- purpose: data set 3, the seed incident's whole tenant graph; loaded on top of data set 1 (ids 201+)
-- The webhook that created customers 30-60 without company_id also wrote appointments and calls without it.
-- Every row here can be repaired from evidence, so the demo's graph ends clean (data set 2 holds the rows a
-- person has to decide). Expected outcome of a real tenant_backfill run with specs ["all"], row by row:
--   appointment 201 of customer 30 (NULL until customers ran) -> 1 from its customer, after customers_company
--   appointment 202 of customer 45 (NULL until customers ran) -> 1 from its customer, after customers_company
--   appointment 203 of customer 24 (company 15)               -> 15 from its customer
--   call 201 of customer 31 (NULL until customers ran)        -> 1 from its customer, after customers_company
--   call 202 of customer 26 (company 15)                      -> 15 from its customer
--   call 203 without a customer, to company 83's number       -> 83 from the business number
--   call 204 without a customer, to company 85's number       -> 85 from the business number
-- Customers 58-60 keep no related row: soft-deleted orphans, which tenant_constraints archives.
insert into appointments (id, company_id, customer_id, starts_at, created_at, updated_at, deleted_at) values
    (201, null, 30, '2025-10-10 09:00:00', '2025-09-26 14:05:00', '2025-09-26 14:05:00', null),
    (202, null, 45, '2025-10-11 09:00:00', '2025-09-26 14:05:00', '2025-09-26 14:05:00', null),
    (203, null, 24, '2025-10-12 09:00:00', '2025-09-26 14:05:00', '2025-09-26 14:05:00', null);

insert into calls (id, company_id, customer_id, from_number, to_number, created_at, updated_at) values
    (201, null, 31, '+491710000031', '+493000000001', '2025-09-26 14:06:00', '2025-09-26 14:06:00'),
    (202, null, 26, '+491710000026', '+493000000015', '2025-09-26 14:06:00', '2025-09-26 14:06:00'),
    (203, null, null, '+491710008301', '+493000000083', '2025-09-26 14:06:00', '2025-09-26 14:06:00'),
    (204, null, null, '+491710008501', '+493000000085', '2025-09-26 14:06:00', '2025-09-26 14:06:00');
