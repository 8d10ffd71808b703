-- purpose: give up the right to write a table at the end of a phase
select release_lock(concat('tenant_integrity:', left(sha1(concat(database(), '.', %(table_name)s)), 40))) as released
