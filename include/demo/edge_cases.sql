-- purpose: data set 2, what the seed incident did not have; loaded on top of data set 1 (ids 101+)
-- Expected outcome of a real tenant_backfill run with customers_company.yaml, case by case:
--   101 appointments at companies 1 (x2) and 15     -> review, conflict, candidates 1:2;15:1
--   102 phone only: calls to company 15's number    -> backfilled 15 from phone
--   103 calls to the numbers of companies 83 and 84 -> review, conflict, candidates 83:1;84:1
--   104 appointments whose company_id is NULL       -> review, no_tenant_evidence
--   105 NULL-company appointment + call to 85       -> backfilled 85 from phone (appointments have no usable evidence)
--   106 appointment at company 999 (does not exist) -> review, unknown_tenant, candidates 999:1
--   107 soft-deleted, appointment at company 1      -> backfilled 1, deleted_at kept
--   108 soft-deleted, no related row at all         -> unchanged (already soft-deleted orphan; blocks NOT NULL later)
--   109 CSV-hostile, appointments at 1 and 83       -> review, conflict, candidates 1:1;83:1
--   110 CSV-hostile, call to an unknown number      -> review, no_tenant_evidence
--   111 CSV-hostile, call to a number of company 999-> review, unknown_tenant, candidates 999:1
--   112 appointment at 1, call to 15's number       -> backfilled 1 from appointments; phone disagrees (counted)
--   113 only a soft-deleted appointment, at 84      -> backfilled 84 from appointments (soft-deleted evidence counts)
--   114 call to a soft-deleted number of company 84 -> backfilled 84 from phone
insert into phone_numbers (id, company_id, number, created_at, updated_at, deleted_at) values
    (6, 84, '+493000000840', '2025-08-02 00:00:00', '2025-08-02 00:00:00', '2025-09-01 00:00:00'),
    (7, 999, '+493000000999', '2025-08-04 00:00:00', '2025-08-04 00:00:00', null);

insert into customers (id, company_id, name, email, phone, created_at, updated_at, deleted_at) values
    (101, null, 'Conflict Kunde', 'conflict@example.org', '+491710000101', '2025-09-26 14:03:18', '2025-09-26 14:03:18', null),
    (102, null, 'Phone Only', 'phone.only@example.org', '+491710000102', '2025-09-27 10:00:00', '2025-09-27 10:00:00', null),
    (103, null, 'Two Numbers', 'two.numbers@example.org', '+491710000103', '2025-09-27 10:01:00', '2025-09-27 10:01:00', null),
    (104, null, 'Zoë Łukasz 東京', 'zoe@example.org', '+491710000104', '2025-09-27 10:02:00', '2025-09-27 10:02:00', null),
    (105, null, 'Fallback Kunde', 'fallback@example.org', '+491710000105', '2025-09-27 10:03:00', '2025-09-27 10:03:00', null),
    (106, null, 'Ghost Company', 'ghost@example.org', '+491710000106', '2025-09-27 10:04:00', '2025-09-27 10:04:00', null),
    (107, null, 'Deleted With Evidence', 'deleted.evidence@example.org', '+491710000107', '2025-09-27 10:05:00', '2025-09-30 12:00:00', '2025-09-30 12:00:00'),
    (108, null, 'Deleted Orphan', 'deleted.orphan@example.org', null, '2025-09-27 10:06:00', '2025-09-30 12:00:01', '2025-09-30 12:00:01'),
    (109, null, '=HYPERLINK("http://evil.test","x")', '+cmd@evil.test', '+491710000109', '2025-09-28 08:00:00', '2025-09-28 08:00:00', null),
    (110, null, 'Müller, "Hans"\nzweite Zeile', '@admin@example.org', '+4915112345678', '2025-09-28 08:01:00', '2025-09-28 08:01:00', null),
    (111, null, '\tTabbed\rName', '-sum@example.org', '=1+1', '2025-09-28 08:02:00', '2025-09-28 08:02:00', null),
    (112, null, 'Disagreeing Sources', 'disagree@example.org', '+491710000112', '2025-09-28 08:03:00', '2025-09-28 08:03:00', null),
    (113, null, 'Old Appointment', 'old.appointment@example.org', '+491710000113', '2025-09-28 08:04:00', '2025-09-28 08:04:00', null),
    (114, null, 'Old Number', 'old.number@example.org', '+491710000114', '2025-09-28 08:05:00', '2025-09-28 08:05:00', null);

insert into appointments (id, company_id, customer_id, starts_at, created_at, updated_at, deleted_at) values
    (1001, 1, 101, '2025-10-01 09:00:00', '2025-09-26 15:00:00', '2025-09-26 15:00:00', null),
    (1002, 1, 101, '2025-10-08 09:00:00', '2025-09-26 15:00:00', '2025-09-26 15:00:00', null),
    (1003, 15, 101, '2025-10-09 09:00:00', '2025-09-26 15:00:00', '2025-09-26 15:00:00', null),
    (1004, null, 104, '2025-10-02 09:00:00', '2025-09-27 15:00:00', '2025-09-27 15:00:00', null),
    (1005, null, 104, '2025-10-03 09:00:00', '2025-09-27 15:00:00', '2025-09-27 15:00:00', null),
    (1006, null, 105, '2025-10-04 09:00:00', '2025-09-27 15:00:00', '2025-09-27 15:00:00', null),
    (1007, 999, 106, '2025-10-05 09:00:00', '2025-09-27 15:00:00', '2025-09-27 15:00:00', null),
    (1008, 1, 107, '2025-10-06 09:00:00', '2025-09-27 15:00:00', '2025-09-27 15:00:00', null),
    (1009, 1, 109, '2025-10-07 09:00:00', '2025-09-28 15:00:00', '2025-09-28 15:00:00', null),
    (1010, 83, 109, '2025-10-07 10:00:00', '2025-09-28 15:00:00', '2025-09-28 15:00:00', null),
    (1011, 1, 112, '2025-10-07 11:00:00', '2025-09-28 15:00:00', '2025-09-28 15:00:00', null),
    (1012, 84, 113, '2025-10-07 12:00:00', '2025-09-28 15:00:00', '2025-09-29 15:00:00', '2025-09-29 15:00:00');

insert into calls (id, company_id, customer_id, from_number, to_number, created_at, updated_at) values
    (1001, null, 102, '+491710000102', '+493000000015', '2025-09-27 11:00:00', '2025-09-27 11:00:00'),
    (1002, null, 102, '+491710000102', '+493000000015', '2025-09-27 12:00:00', '2025-09-27 12:00:00'),
    (1003, null, 103, '+491710000103', '+493000000083', '2025-09-27 11:00:00', '2025-09-27 11:00:00'),
    (1004, null, 103, '+491710000103', '+493000000084', '2025-09-27 12:00:00', '2025-09-27 12:00:00'),
    (1005, null, 105, '+491710000105', '+493000000085', '2025-09-27 11:00:00', '2025-09-27 11:00:00'),
    (1006, null, 110, '+4915112345678', '+490000000000', '2025-09-28 11:00:00', '2025-09-28 11:00:00'),
    (1007, null, 111, '=1+1', '+493000000999', '2025-09-28 11:00:00', '2025-09-28 11:00:00'),
    (1008, null, 112, '+491710000112', '+493000000015', '2025-09-28 11:00:00', '2025-09-28 11:00:00'),
    (1009, null, 114, '+491710000114', '+493000000840', '2025-09-28 11:00:00', '2025-09-28 11:00:00'),
    (1010, null, null, '+491710009999', '+493000000001', '2025-09-28 11:30:00', '2025-09-28 11:30:00');
