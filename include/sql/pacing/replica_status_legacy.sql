-- purpose: the same on servers that know only the older name (MariaDB before 10.5, MySQL before 8.0.22)
show slave status
