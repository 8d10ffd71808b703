-- purpose: claim the right to write one table for this connection's lifetime (1 = claimed, 0 = another holds it)
-- (a named lock, not a row: the server frees it the moment its connection ends, so a killed run never blocks the next)
select get_lock(concat('tenant_integrity:', left(sha1(concat(database(), '.', %(table_name)s)), 40)), 0) as claimed
