-- purpose: per key range, a checksum of every column a run may not change, taken before the run writes
create table if not exists tenant_range_checksums (
    run_no bigint unsigned not null,
    range_no bigint not null,
    range_lo bigint not null,
    range_hi bigint not null,
    row_count bigint not null,
    checksum bigint unsigned not null,
    primary key (run_no, range_no)
) engine = InnoDB default charset = utf8mb4 collate = utf8mb4_unicode_ci
