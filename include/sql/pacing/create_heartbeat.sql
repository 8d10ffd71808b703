-- purpose: the run's heartbeat on the primary (pt-heartbeat's table): one row whose ts the run keeps moving while
-- it writes; it replicates like any write, so a replica's utc_timestamp(6) - ts is how far behind it is
create table if not exists tenant_heartbeat (
  id tinyint unsigned not null primary key,
  ts datetime(6) not null
) engine = InnoDB
