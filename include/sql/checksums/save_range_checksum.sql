-- purpose: keep one range's checksum from before the run
insert into tenant_range_checksums (run_no, range_no, range_lo, range_hi, row_count, checksum)
values (%(run_no)s, %(range_no)s, %(range_lo)s, %(range_hi)s, %(row_count)s, %(checksum)s)
on duplicate key update checksum = checksum
