-- purpose: the connection that holds a table's writer lock, to name it in the error
select is_used_lock(concat('tenant_integrity:', left(sha1(concat(database(), '.', %(table_name)s)), 40))) as holder
