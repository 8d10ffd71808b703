-- purpose: a replica's replication threads and Seconds_Behind_Master (MariaDB 10.5+, MySQL 8.0.22+)
show replica status
