-- purpose: the server's version string (MariaDB or MySQL: trigger replacement and optimizer settings differ)
select version() as version
