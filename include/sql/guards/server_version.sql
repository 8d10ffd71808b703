-- purpose: the server's version string: MariaDB replaces a trigger in one statement (create or replace), MySQL cannot
select version() as version
