-- purpose: on a replica, the age of the newest heartbeat it applied, in seconds (its lag behind the primary;
-- it grows while replication stands still). No row: the heartbeat has not reached this replica
select timestampdiff(microsecond, ts, utc_timestamp(6)) / 1000000 as lag_s from tenant_heartbeat where id = 1
